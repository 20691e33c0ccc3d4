"""Rewrite the generated parts of README.md from the real program.

    python scripts/update_readme.py            # rewrite in place (make readme)
    python scripts/update_readme.py --check    # exit 1 if README.md is out of date

Blocks: <!-- commands --> holds every command's --help; <!-- demo-output --> the terminal
output of `auditor demo` (paths and the clock normalised).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from typer.testing import CliRunner

from auditor.cli import app

# The help is drawn by rich: a fixed width and no colour, whatever the terminal or CI. Set
# for each run only (CliRunner restores the environment): a test process importing this
# module keeps its own.
HELP_ENV = {
    "COLUMNS": "100",
    "TERMINAL_WIDTH": "100",
    "TERM": "dumb",
    "NO_COLOR": "1",
    "FORCE_COLOR": None,
    "PY_COLORS": None,
    "GITHUB_ACTIONS": None,
    "_TYPER_FORCE_DISABLE_TERMINAL": "1",
}

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

README = Path(__file__).resolve().parents[1] / "README.md"
COMMANDS = ["", "audit", "sql", "check", "ddl", "materialize", "render", "demo", "store"]


def _help(cmd: str) -> str:
    args = ([cmd] if cmd else []) + ["--help"]
    res = CliRunner().invoke(app, args, terminal_width=100, env=HELP_ENV)
    text = ANSI.sub("", res.output)  # in case typer was imported before HELP_ENV was set
    return "\n".join(line.rstrip() for line in text.splitlines()).strip("\n")


def commands_block() -> str:
    parts = []
    for cmd in COMMANDS:
        text = _help(cmd)
        if "No such command" in text:
            continue
        title = f"auditor {cmd} --help" if cmd else "auditor --help"
        parts.append(f"### `{title}`\n\n```text\n{text}\n```")
    return "\n\n".join(parts)


def replace_block(text: str, name: str, body: str) -> str:
    pattern = re.compile(rf"(<!-- {name} -->\n).*?(<!-- /{name} -->)", re.S)
    if not pattern.search(text):
        raise SystemExit(f"README.md has no <!-- {name} --> block")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def demo_block() -> str:
    """`auditor demo --out demo-report`, run in an empty folder: its output is the same
    on every machine (the demo trail is seeded)."""
    import os
    import tempfile

    here = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            res = CliRunner().invoke(app, ["demo", "--out", "demo-report"])
        finally:
            os.chdir(here)
    if res.exit_code != 0:
        raise SystemExit(f"auditor demo failed: {res.output}")
    return f"```text\n{res.stdout.rstrip()}\n```"


def render(text: str) -> str:
    text = replace_block(text, "commands", commands_block())
    return replace_block(text, "demo-output", demo_block())


def main() -> int:
    current = README.read_text(encoding="utf-8")
    updated = render(current)
    if "--check" in sys.argv:
        if updated != current:
            print("README.md is out of date: run `make readme`", file=sys.stderr)
            return 1
        return 0
    README.write_text(updated, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
