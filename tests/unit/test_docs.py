"""The README, the reference and the CI templates name only real options, and write path options as
--aml-x=PATH; the reference has a row for every option and every check id, and no other."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_amlimage.config.options import BY_FLAG, PATH_KINDS

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "docs" / "reference.md"
DOCS = [
    ROOT / "README.md",
    REFERENCE,
    *sorted((ROOT / "examples").rglob("*.yml")),
    *sorted((ROOT / "examples").rglob("*.md")),
]
FLAG = re.compile(r"--aml-[a-z0-9-]+[a-z0-9]")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_option_named_exists(path: Path) -> None:
    unknown = sorted({flag for flag in FLAG.findall(path.read_text()) if flag not in BY_FLAG})
    assert unknown == []


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_path_options_take_their_value_after_an_equals_sign(path: Path) -> None:
    spaced = [
        match.group(0)
        for match in re.finditer(r"(--aml-[a-z0-9-]+[a-z0-9]) (?=[^\s|`-])", path.read_text())
        if BY_FLAG.get(match.group(1)) and BY_FLAG[match.group(1)].kind in PATH_KINDS
    ]
    assert spaced == []


def table_rows(heading: str, path: Path = REFERENCE) -> str:
    """The table under ``heading`` (up to the next heading) of the reference."""
    text = path.read_text()
    return text.split(f"\n## {heading}\n", 1)[1].split("\n#", 1)[0]


def test_every_option_has_a_row_in_the_option_table_and_every_row_is_an_option() -> None:
    rows = [line for line in table_rows("Options").splitlines() if line.startswith("| `--aml-")]
    named = {flag for row in rows for flag in FLAG.findall(row.split("|")[1])}
    assert sorted(set(BY_FLAG) - named) == [] and sorted(named - set(BY_FLAG)) == []


def assembled_ids(tmp_path: Path) -> set[str]:
    """Every check id the assembler can produce, each parametrized family as ``name[``."""
    from pytest_amlimage.checks.assemble import Context, checks_for
    from tests.unit.fakes import FakeImage, ImageInfo
    from tests.unit.test_assemble import batch_settings, everything

    batch = batch_settings(tmp_path)
    ids = {check.id for check in everything(tmp_path)}
    ids |= {check.id for check in checks_for(FakeImage(batch, ImageInfo()), batch, Context())}
    return {
        i.split("[", 1)[0] + "[" if "[" in i and not i.startswith("dockerfile") else i for i in ids
    }


def documented_ids(path: Path, column: int) -> set[str]:
    """The check ids the table under "Checks" names in ``column``, each parametrized family as ``name[``."""
    rows = [line.split("|") for line in table_rows("Checks", path).splitlines()]
    cells = [row[column] for row in rows if len(row) > column and "`" in row[column]]
    return {
        name.split("[", 1)[0] + "[" if "[" in name and not name.startswith("dockerfile") else name
        for cell in cells
        for name in re.findall(r"`([a-z][a-z-]*(?:\[[^\]`]*\])?)`", cell)
    }


@pytest.mark.parametrize(("doc", "column"), [(REFERENCE, 1), (ROOT / "README.md", 2)])
def test_every_check_id_is_documented_and_every_documented_id_exists(
    tmp_path: Path, doc: Path, column: int
) -> None:
    """The reference's table has a row for each check; the README's list names each once."""
    # beside everything on: a failed build's own check, a YAML's, the lock's writer, an undetected row
    produced = assembled_ids(tmp_path) | {"build", "deployment", "lock-update", "curated"}
    documented = documented_ids(doc, column)
    assert sorted(produced - documented) == [] and sorted(documented - produced) == []


def test_the_readme_stays_a_read_of_minutes() -> None:
    """Under syrupy's README (42.5k characters): the reference holds the rest."""
    assert len((ROOT / "README.md").read_text()) <= 42_000
