"""Severity levels and their order."""

from __future__ import annotations

LEVELS = ("low", "medium", "high")


def rank(level: str) -> int:
    return LEVELS.index(level)


def at_or_above(level: str, threshold: str) -> bool:
    return rank(level) >= rank(threshold)
