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
