"""The bench runs on a fresh machine: every stand-in image its rows name is one it builds first."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_stand_in_the_bench_names_is_built_first() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import run  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    named = set(
        re.findall(r"amlimage/([\w.-]+):latest", (ROOT / "benchmarks" / "run.py").read_text())
    )
    built = set(run.USED)
    assert {name for name in named if not name.startswith("bench-")} <= built
    assert {"nginx-runit", "runitroot", "extended"} <= built
    assert built <= set(
        run.standins.STANDINS
    )  # each a stand-in scripts/standins.py knows how to build
