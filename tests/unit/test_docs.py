"""The README and the CI templates name only real options, and write path options as --aml-x=PATH."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_amlimage.config.options import BY_FLAG, PATH_KINDS

ROOT = Path(__file__).resolve().parents[2]
DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "examples").rglob("*.yml")),
    *sorted((ROOT / "examples").rglob("*.md")),
]
FLAG = re.compile(r"--aml-[a-z-]+[a-z]")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_option_named_exists(path: Path) -> None:
    unknown = sorted({flag for flag in FLAG.findall(path.read_text()) if flag not in BY_FLAG})
    assert unknown == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_path_options_take_their_value_after_an_equals_sign(path: Path) -> None:
    spaced = [
        match.group(0)
        for match in re.finditer(r"(--aml-[a-z-]+[a-z]) (?=[^\s|`-])", path.read_text())
        if BY_FLAG.get(match.group(1)) and BY_FLAG[match.group(1)].kind in PATH_KINDS
    ]
    assert spaced == []


def table_rows(heading: str) -> str:
    """The README's table under ``heading`` (up to the next heading)."""
    text = (ROOT / "README.md").read_text()
    return text.split(f"\n## {heading}\n", 1)[1].split("\n#", 1)[0]


def test_every_option_has_a_row_in_the_option_table_and_every_row_is_an_option() -> None:
    rows = [line for line in table_rows("Options").splitlines() if line.startswith("| `--aml-")]
    named = {flag for row in rows for flag in FLAG.findall(row.split("|")[1])}
    assert sorted(set(BY_FLAG) - named) == [] and sorted(named - set(BY_FLAG)) == []


def assembled_ids(tmp_path: Path) -> set[str]:
    """Every check id the assembler can produce, each parametrized family as ``name[``."""
    from tests.unit.test_assemble import everything

    ids = {check.id for check in everything(tmp_path)}
    return {
        i.split("[", 1)[0] + "[" if "[" in i and not i.startswith("dockerfile") else i for i in ids
    }


def test_every_check_id_is_documented_and_every_documented_id_exists(tmp_path: Path) -> None:
    cells = [
        line.split("|")[1] for line in table_rows("Checks").splitlines() if line.startswith("| `")
    ]
    documented = {
        name.split("[", 1)[0] + "[" if "[" in name and not name.startswith("dockerfile") else name
        for cell in cells
        for name in re.findall(r"`([a-z][a-z-]*(?:\[[^\]`]*\])?)`", cell)
    }
    # beside everything on: a failed build's own check, a YAML's, the lock's writer, an undetected row
    produced = assembled_ids(tmp_path) | {"build", "deployment", "lock-update", "curated"}
    assert sorted(produced - documented) == [] and sorted(documented - produced) == []
