"""The investigation guide: the rule folder's guide template, with each finding's own
values filled in (pure, but for reading the template).

The template (`guide` in rule.toml) defines two macros: `general()`, the steps shown
once above the per-finding cards, and `finding(f, checks)`, one card. Both write the
same plain structure, and every word in it is the template's:

    ## Step title
    A sentence, which may run over several template lines.

    Another sentence (blank lines separate them).

Values taken from the events go through `v(value)` (or `vlist`, `counts`): they become
`Part(text, value=True)`, which each format shows as code and escapes its own way. They
travel beside the text as numbered placeholders, so no value can add a step, a sentence
or markup.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from auditor.model import Finding
from auditor.rule import RuleFolder

# CloudTrail identity types in words (shared by every rule: the findings table uses it).
TYPE_WORDS = {
    "AssumedRole": "role",
    "IAMUser": "IAM user",
    "Root": "root user of account",
    "FederatedUser": "federated user",
    "AWSService": "AWS service",
    "AWSAccount": "AWS account",
    "SAMLUser": "SAML user",
    "WebIdentityUser": "web-identity user",
    "IdentityCenterUser": "IAM Identity Center user",
}

_IAC_AGENTS = ("terraform", "pulumi", "cloudformation", "aws-cdk", "cdk/", "crossplane", "ansible")
_CONSOLE_AGENTS = ("console.amazonaws.com", "aws internal", "signin.amazonaws.com")

# A value's placeholder: private-use code points our templates never write.
_OPEN, _CLOSE = "\ue000", "\ue001"
_SLOT = re.compile(f"{_OPEN}([0-9]+){_CLOSE}")
_BREAKS = re.compile(r"[\r\n\x0b\x0c\x85\u2028\u2029]+")


@dataclass(frozen=True)
class Part:
    text: str
    value: bool = False


Line = tuple[Part, ...]


@dataclass(frozen=True)
class Step:
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Checks:
    """How each of the rule's queries fared in the report: "ok", "failed" or "not run"
    (an older report, a failed backfill), and the look-ahead the later ones searched."""

    states: dict[str, str] = field(default_factory=dict)
    lookahead_days: str | None = None

    def state(self, query: str) -> str:
        return self.states.get(query, "not run")


@dataclass(frozen=True)
class FindingGuide:
    finding_id: str
    principal: str
    severity: str
    steps: tuple[Step, ...]
    flags: tuple[str, ...] = ()  # short tags for the card's header


# ---------------------------------------------------------------- helpers for templates


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n:,} times"


def _matching(values: Iterable[str], needles: tuple[str, ...]) -> list[str]:
    return [v for v in values if any(k in v.lower() for k in needles)]


def _keys(f: Finding, prefix: str) -> list[str]:
    return [k for k in f.access_key_ids if k.startswith(prefix)]


class _Values:
    """The values of one rendering, and the template helpers that place them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def v(self, value: object) -> str:
        self.items.append(str(value))
        return f"{_OPEN}{len(self.items) - 1}{_CLOSE}"

    def vlist(self, values: Iterable[object], empty: str = "none recorded") -> str:
        placed = [self.v(x) for x in values]
        return ", ".join(placed) if placed else empty

    def counts(self, counts: dict[str, int]) -> str:
        return self.vlist(f"{k} × {n}" for k, n in counts.items())

    def helpers(self) -> dict[str, Callable[..., Any]]:
        return {
            "v": self.v,
            "vlist": self.vlist,
            "counts": self.counts,
            "times": _times,
            "type_word": lambda t: TYPE_WORDS.get(t, "principal"),
            "iac_agents": lambda f: _matching(f.user_agents, _IAC_AGENTS),
            "console_agents": lambda f: _matching(f.user_agents, _CONSOLE_AGENTS),
            "long_term_keys": lambda f: _keys(f, "AKIA"),
            "temporary_keys": lambda f: _keys(f, "ASIA"),
        }


@lru_cache(maxsize=16)
def _env(folder: Path) -> Any:
    import jinja2

    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # not markup: each format escapes the parts itself
        trim_blocks=True,
        lstrip_blocks=True,
        # a value printed without v() still cannot start a sentence or a step
        finalize=lambda x: _BREAKS.sub(" ", x) if isinstance(x, str) else x,
    )
    e.filters["n"] = lambda x: f"{int(x):,}"
    return e


def _steps(text: str, values: list[str]) -> tuple[Step, ...]:
    steps: list[Step] = []
    for block in re.split(r"\n\s*\n", text):
        rows = [r.strip() for r in block.strip().split("\n") if r.strip()]
        if rows and rows[0].startswith("## "):
            steps.append(Step(rows.pop(0)[3:].strip(), ()))
        if not rows:
            continue
        if not steps:
            raise ValueError("a guide sentence before the first '## ' step title")
        sentence = " ".join(rows)
        parts: list[Part] = []
        for i, piece in enumerate(_SLOT.split(sentence)):
            if i % 2:
                parts.append(Part(values[int(piece)], True))
            elif piece:
                parts.append(Part(piece))
        last = steps[-1]
        steps[-1] = Step(last.title, (*last.lines, tuple(parts)))
    return tuple(steps)


def _render(rule: RuleFolder, macro: str, *args: object) -> tuple[Step, ...]:
    values = _Values()
    module = _env(rule.path).get_template(rule.guide).make_module(values.helpers())
    return _steps(str(getattr(module, macro)(*args)), values.items)


def general(rule: RuleFolder) -> tuple[tuple[str, str], ...]:
    """The steps shown once above the cards: (title, text)."""
    return tuple(
        (s.title, " ".join(plain(line) for line in s.lines)) for s in _render(rule, "general")
    )


def finding_guide(
    rule: RuleFolder, f: Finding, checks: Checks = Checks(), flags: tuple[str, ...] = ()
) -> FindingGuide:
    return FindingGuide(
        flags=flags,
        finding_id=f.id,
        principal=f.principal,
        severity=f.severity,
        steps=_render(rule, "finding", f, checks),
    )


def plain(line: Line) -> str:
    """A sentence as plain text (tests, CLI)."""
    return "".join(p.text for p in line)
