"""Hide anything that looks like a credential in the command line and settings a report
prints (pure). The config summary holds none by design; this is the belt to its braces.
And make outside text inert for a terminal (`inert`)."""

from __future__ import annotations

import re

REDACTED = "[redacted]"

# Text from outside (event data, Athena's error reasons) printed on a terminal: controls
# (a newline, an ANSI escape sequence), line separators and bidirectional overrides are
# shown as \\uXXXX, and a value is cut to one line of reading; the reports hold it whole.
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)
TERMINAL_MAX = 160


def inert(value: object, limit: int | None = TERMINAL_MAX) -> str:
    """`value` as one inert line for a terminal (see above); cut to `limit` characters."""
    text = _TERMINAL_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))
    if limit is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "\u2026"


_SECRET_NAME = re.compile(
    r"secret|token|passw|credential|private|api[_-]?key|access[_-]?key|signature|session[_-]?key",
    re.IGNORECASE,
)
# a command-line flag named like a secret, and its value (quoted or not)
_SECRET_FLAG = re.compile(
    r"(?<![^\s'\"])(--?[\w-]*(?:secret|token|passw|credential|api-?key|access-key|private)"
    r"[\w-]*)(=|\s+)(['\"]?)[^\s'\"]+",
    re.IGNORECASE,
)
_SECRET_ASSIGN = re.compile(
    r"((?:x-amz-security-token|x-amz-signature|x-amz-credential|aws_secret_access_key|"
    r"aws_session_token|secret|token|password|passwd|api[_-]?key)[\w-]*\s*[=:]\s*)[^&\s'\"]+",
    re.IGNORECASE,
)
_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_SECRET_40 = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+]{0,39}[a-z])(?=[A-Za-z0-9/+]{0,39}[A-Z])"
    r"(?=[A-Za-z0-9/+]{0,39}[0-9])"
    r"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])"
)


def scrub(text: str) -> str:
    """Hide anything that looks like a credential (AWS keys, tokens, signed-URL parts)."""
    text = _SECRET_FLAG.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}{REDACTED}", text)
    text = _SECRET_ASSIGN.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _ACCESS_KEY.sub(REDACTED, text)
    return _SECRET_40.sub(REDACTED, text)


def scrub_config(config: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(
        (k, REDACTED if _SECRET_NAME.search(k) and v else scrub(str(v))) for k, v in config.items()
    )
