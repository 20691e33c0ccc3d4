"""Query engines. Each takes a QueryPlan and returns rows, query stats and coverage."""

from __future__ import annotations

from auditor.engines.base import Engine


def get_engine(name: str) -> Engine:
    if name == "local":
        from auditor.engines.local import LocalEngine

        return LocalEngine()
    if name == "athena":
        from auditor.engines.athena import AthenaEngine

        return AthenaEngine()
    from auditor.errors import ConfigError

    raise ConfigError(f"unknown engine {name!r} (use local or athena)")
