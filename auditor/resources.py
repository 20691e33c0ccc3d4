"""The one module that knows where the shipped `sql/` and `reports/` folders live.

In a wheel they are force-included as `auditor/_data/<name>`; in a source checkout
(editable install, tests) they sit at the repository root.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    packaged = _PKG / "_data" / name
    if packaged.is_dir():
        return packaged
    return _PKG.parent / name
