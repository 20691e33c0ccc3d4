"""The README is the front door: its --help blocks must be the program's real ones."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _updater():
    spec = importlib.util.spec_from_file_location(
        "update_readme", REPO / "scripts/update_readme.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_readme_help_blocks_match_the_cli():
    mod = _updater()
    current = (REPO / "README.md").read_text(encoding="utf-8")
    assert mod.render(current) == current, "README.md is out of date: run `make readme`"


def test_readme_names_every_exit_code_the_cli_uses():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |"):
        assert code in text


def test_the_readme_config_example_is_a_valid_config_file():
    import re
    import tomllib

    from auditor.settings import check_config_keys

    text = (REPO / "README.md").read_text(encoding="utf-8")
    (block,) = re.findall(r"```toml\n(.*?)```", text, re.S)
    data = tomllib.loads(block)
    check_config_keys(data)  # raises on a setting the program does not know
    assert {"audit", "athena"} <= set(data)
