"""Byte counts for people, the same in the terminal and every report: binary units with
IEC names (Athena's --max-scan-gb and cost use 1 GB = 2**30 bytes, 1 TB = 2**40)."""

from __future__ import annotations


def fmt_bytes(value: object) -> str:
    if value is None:
        return "unknown"
    size = float(value)  # type: ignore[arg-type]
    if size < 1024:
        return f"{int(size):,} bytes"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            return f"{size:,.1f} {unit}"
    raise AssertionError("unreachable")
