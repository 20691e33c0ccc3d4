"""Fixtures for the engine tests: run a real local audit over a folder written in tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from auditor.audit import run_audit
from auditor.config import AuditConfig, DateRange
from auditor.model import Report

NOW = datetime(2026, 12, 1, tzinfo=UTC)

Audit = Callable[..., Report]


def local_audit(root: Path | str, first: date, last: date | None = None, **kw: Any) -> Report:
    """The library entry point on the local engine, one worker unless told otherwise."""
    kw.setdefault("workers", 1)
    config = AuditConfig(
        range=DateRange(first, last or first), engine="local", source=str(root), now=NOW, **kw
    )
    return run_audit(config)


@pytest.fixture
def audit() -> Audit:
    return local_audit
