"""What every engine is: built from its own settings, it runs a Plan as it is."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from auditor.errors import AuditorError
from auditor.model import Coverage, QueryRecord, S3Calls
from auditor.plan import Plan, SqlTarget

Row = dict[str, Any]


@dataclass
class EngineResult:
    rows: dict[str, list[Row]] = field(default_factory=dict)  # query name -> rows
    queries: list[QueryRecord] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    estimated_scan_bytes: int | None = None
    input_fingerprint: str | None = None
    s3_calls: S3Calls | None = None


class Engine(Protocol):
    name: str

    @property
    def target(self) -> SqlTarget:
        """What the plan's SQL is written for: dialect, table, partition scheme."""
        ...

    def execute(self, plan: Plan) -> EngineResult: ...


@dataclass(frozen=True)
class DryRun:
    """What a dry run prints, and the error the real run would stop with (or None)."""

    text: str
    refused: AuditorError | None = None


@runtime_checkable
class SupportsDryRun(Protocol):
    """An engine that can say what it would do, and cost, without doing it."""

    def dry_run(self, plan: Plan) -> DryRun: ...


@runtime_checkable
class SupportsNotes(Protocol):
    """An engine with something to say about a plan before running it (the table it
    reads); raises ConfigError when the plan cannot run there."""

    def notes(self, plan: Plan) -> tuple[str, ...]: ...
