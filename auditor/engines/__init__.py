"""Query engines, in one registry keyed by EngineName. Each is built from its own frozen
settings, takes a Plan and returns rows, query records and coverage (engines/base.py).

A new engine is its module (a class with `name`, `target` and `execute(plan)`), a
member of config.EngineName, a line here, and its settings if it has any."""

from __future__ import annotations

from collections.abc import Callable

from auditor.config import AuditConfig, EngineName
from auditor.engines.base import Engine
from auditor.errors import ConfigError

EngineFactory = Callable[[AuditConfig], Engine]


def _local(config: AuditConfig) -> Engine:
    from auditor.engines.local import LocalEngine

    return LocalEngine(config.local)


def _athena(config: AuditConfig) -> Engine:
    from auditor.engines.athena import AthenaEngine

    return AthenaEngine(config.athena)


REGISTRY: dict[str, EngineFactory] = {
    EngineName.LOCAL: _local,
    EngineName.ATHENA: _athena,
}


def build_engine(config: AuditConfig) -> Engine:
    """The engine `config.engine` names, built from its settings."""
    factory = REGISTRY.get(config.engine)
    if factory is None:
        raise ConfigError(f"unknown engine {config.engine!r} (use {', '.join(REGISTRY)})")
    return factory(config)
