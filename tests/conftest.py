"""Shared fixtures. Folder-specific fixtures live in that folder's conftest.py."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "samples" / "cloudtrail-real"
UPDATE_GOLDEN = os.environ.get("AUDITOR_UPDATE_GOLDEN") == "1"


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    """The real CloudTrail sample corpus in ../shared (skips cleanly when absent)."""
    if not SAMPLES.is_dir():
        pytest.skip("../shared/samples/cloudtrail-real is not present")
    return SAMPLES


@pytest.fixture(scope="session")
def demo_trail(tmp_path_factory: pytest.TempPathFactory):
    """The demo month (October 2026) written once per session."""
    from auditor.synth import write_demo_trail

    root = tmp_path_factory.mktemp("demo") / "trail"
    return write_demo_trail(root, month=date(2026, 10, 1))


def golden(path: Path, text: str) -> None:
    """Compare with a golden file; AUDITOR_UPDATE_GOLDEN=1 (make golden) rewrites it."""
    if UPDATE_GOLDEN or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if not UPDATE_GOLDEN:
            pytest.fail(f"golden file {path} was missing and has been written; rerun")
    assert text == path.read_text(encoding="utf-8"), (
        f"{path.name} differs from its golden file; if intended, run `make golden`"
    )
