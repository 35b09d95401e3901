"""The seams are typed: mypy, run on snippets, refuses a misspelt option key, an option read as the wrong
type, a check body's arguments swapped, and a misspelt key of the batch driver's configuration or report (the
same snippets, written right, pass)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

import pytest_amlimage

try:
    from mypy import api
except (
    ImportError
):  # mypy comes with the test extras: under CI its absence is a failure, not a skip
    if os.environ.get("CI"):
        raise
    api = pytest.importorskip("mypy.api", reason="mypy comes with the test extras")

HEADER = """\
from pytest_amlimage.checks import memory, platform_rules, versions
from pytest_amlimage.config import options as o
from pytest_amlimage.config.sources import Sources
from pytest_amlimage.engine.memory import Memory
from pytest_amlimage.probe import Facts
from pytest_amlimage.probe.shapes import BatchConfigDoc, BatchReportDoc


def read(
    values: Sources, facts: Facts, found: Memory, config: BatchConfigDoc, report: BatchReportDoc
) -> None:
"""
RIGHT = """\
    offline: bool = values.value(o.OFFLINE)
    memory_bytes: int = values.value(o.MEMORY)
    platform_rules.platform(facts, image_env={}, deployment_env={"A": "1"})
    versions.python(facts, expected="3.11", source="row")
    memory.memory(found, limit=1, sized_by="x", instance=None, workers=1, capped="")
    size: int = config["mini_batch_size"]
    batches = report["batches"]
"""
WRONG = {  # a line of the body -> what mypy must say of it
    "    offline: bool = values.value(o.OFLINE)": 'Module has no attribute "OFLINE"',
    "    size: str = values.value(o.MEMORY)": 'expression has type "int", variable has type "str"',
    "    platform_rules.platform(facts, {}, {})": "Too many positional arguments",
    '    versions.python("3.11", "row", facts)': "Too many positional arguments",
    '    memory.memory(found, 1, "x", None, 1, "")': "Too many positional arguments",
    '    size = config["mini_batch_sise"]': 'TypedDict "BatchConfigDoc" has no key "mini_batch_sise"',
    '    batches = report["batchs"]': 'TypedDict "BatchReportDoc" has no key "batchs"',
}


@pytest.fixture
def mypy_cache(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """mypy's cache, kept between runs in pytest's cache folder (mypy checks each entry against its source):
    the package's modules are read once, not on every run."""
    cache = getattr(request.config, "cache", None)
    return cache.mkdir("mypy") if cache is not None else tmp_path / "cache"


def mypy(tmp_path: Path, body: str, cache: Path) -> list[str]:
    snippet = tmp_path / "snippet.py"
    snippet.write_text(HEADER + body)
    # the snippet's errors only: the package's own imports are followed, and their errors not shown
    options = [
        "--strict",
        "--follow-imports=silent",
        "--cache-dir",
        str(cache),
        "--no-error-summary",
    ]
    out, _, _ = api.run([*options, str(snippet)])
    return [line for line in out.splitlines() if ": error:" in line]


def test_the_right_calls_pass_and_each_wrong_one_is_a_type_error(
    tmp_path: Path, mypy_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mypy reads the package this process imported, the same on every run: a source tree from its folder, an
    # installed one from site-packages (a working folder without the package)
    tree = Path(pytest_amlimage.__file__).resolve().parents[1]
    monkeypatch.chdir(tree if (tree / "pyproject.toml").is_file() else tmp_path)
    assert mypy(tmp_path, RIGHT, mypy_cache) == []
    errors = mypy(tmp_path, "".join(line + "\n" for line in WRONG), mypy_cache)
    first_body_line = HEADER.count("\n") + 1
    said = {}
    for error in errors:
        line = int(re.search(r":(\d+): error", error).group(1))  # type: ignore[union-attr]
        said.setdefault(list(WRONG)[line - first_body_line], []).append(error)
    for line, expected in WRONG.items():
        assert any(expected in error for error in said.get(line, [])), (line, errors)
