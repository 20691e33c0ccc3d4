"""One exception tree. The CLI maps each branch to a documented exit code."""

from __future__ import annotations


class AuditorError(Exception):
    """Root of every error auditor raises on purpose."""

    exit_code = 2


class ConfigError(AuditorError):
    """Bad flags, dates, config file or identifiers (exit 2)."""

    exit_code = 2


class SourceError(AuditorError):
    """The trail source cannot be used at all: missing, no AWSLogs/ (exit 2)."""

    exit_code = 2


class BudgetError(AuditorError):
    """The cost guard refused a plan over --max-scan-gb (exit 2)."""

    exit_code = 2


class QueryFailed(AuditorError):
    """A query failed, was cancelled or timed out (exit 3)."""

    exit_code = 3

    def __init__(self, message: str, query_id: str | None = None) -> None:
        super().__init__(message)
        self.query_id = query_id


class RenderError(AuditorError):
    """A report could not be rendered or a saved report.json could not be loaded (exit 2)."""

    exit_code = 2


class EngineFailed(AuditorError):
    """The engine itself cannot go on: its worker processes keep dying (exit 3)."""

    exit_code = 3
