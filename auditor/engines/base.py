"""The Engine protocol every engine implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from auditor.config import AuditConfig
from auditor.model import Coverage, QueryRecord, S3Calls
from auditor.plan import QueryPlan

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
    dialect: str

    def execute(self, config: AuditConfig, plan: QueryPlan) -> EngineResult: ...
