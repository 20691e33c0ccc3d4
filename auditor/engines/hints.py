"""What the local engine's file scan looks for, from the rule's query declarations
(queries.toml: needles, prefilters, columns, lookahead_if). Only the local engine reads
files itself, so these live here and not in the Plan."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.plan import Plan
from auditor.sqlgen import QuerySpec


@dataclass(frozen=True)
class ScanHints:
    """Per query of a one-chunk plan, in plan order (prefilter.ScanSettings.from_plan)."""

    specs: tuple[QuerySpec, ...]

    @classmethod
    def of(cls, plan: Plan) -> ScanHints:
        return cls(tuple(q.spec for q in plan.queries))

    @property
    def needles(self) -> tuple[bytes, ...]:
        return tuple(sorted({n.encode() for s in self.specs for n in s.needles}))

    @property
    def prefilters(self) -> tuple[dict[str, tuple[str, ...]], ...]:
        return tuple(s.prefilter for s in self.specs)

    @property
    def prefilters_contains(self) -> tuple[dict[str, tuple[str, ...]], ...]:
        """Per query, like `prefilters`: field -> substrings one of which it must hold."""
        return tuple(s.prefilter_contains for s in self.specs)

    @property
    def columns(self) -> tuple[tuple[str, ...] | None, ...]:
        """Per query, the table columns it reads (None: undeclared, load whole records)."""
        return tuple(s.columns for s in self.specs)

    @property
    def lookahead_gate(self) -> int | None:
        """Index of the query whose prefilter hits in the range decide whether the
        look-ahead days are read at all (None: always read them)."""
        names = [s.name for s in self.specs]
        gates = {s.lookahead_if for s in self.specs if s.lookahead}
        if len(gates) != 1 or None in gates:
            return None
        (gate,) = gates
        return names.index(gate) if gate in names else None
