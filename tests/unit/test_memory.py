"""The memory check on measured readings: the kill, the budget, the margin, and the instance types that fit."""

from __future__ import annotations

import pytest

from pytest_amlimage.checks.check import MemoryFigures
from pytest_amlimage.checks.memory import memory
from pytest_amlimage.config.instance_types import find
from pytest_amlimage.engine.memory import Memory, Reading, used
from pytest_amlimage.errors import CheckFailed, NotApplicable
from pytest_amlimage.run.report import memory_chart, memory_lines

MIB = 1024**2
SMALL = find("Standard_DS1_v2")  # 3.5 GiB


def measured(*mib: float, oom: bool = False) -> Memory:
    phases = ["init()", "checks", "samples", "burst"]
    return Memory(tuple(Reading(i, int(m * MIB), phases[i % 4]) for i, m in enumerate(mib)), oom)


def test_a_peak_with_room_passes_and_names_what_fits() -> None:
    figures = memory(
        measured(300, 900, 1200, 1000),
        limit=3584 * MIB,
        sized_by="Standard_DS1_v2",
        instance=SMALL,
        workers=2,
        capped="",
    )
    assert (figures.peak_mib, figures.phase, figures.per_worker_mib) == (1200, "samples", 600)
    # 3584 * 0.85 / 600
    assert figures.fits[0] == "Standard_DS1_v2" and figures.max_workers == 5
    assert figures.phases == [("init()", 300), ("checks", 900), ("samples", 1200), ("burst", 1000)]


def test_a_thin_margin_warns_and_an_overrun_or_a_kill_fails() -> None:
    with pytest.warns(pytest.PytestWarning, match="leaves 6% of 3584 MiB"):
        memory(
            measured(3350),
            limit=3584 * MIB,
            sized_by="Standard_DS1_v2",
            instance=SMALL,
            workers=1,
            capped="",
        )
    with pytest.raises(CheckFailed, match="is over the 3584 MiB of Standard_DS1_v2") as over:
        # --aml-memory above the SKU's
        memory(
            measured(3700),
            limit=8192 * MIB,
            sized_by="Standard_DS1_v2",
            instance=SMALL,
            workers=1,
            capped="",
        )
    assert isinstance(over.value.figures, MemoryFigures) and over.value.figures.peak_mib == 3700
    with pytest.raises(CheckFailed, match="^out of memory: the kernel killed a process"):
        memory(
            measured(3500, oom=True),
            limit=3584 * MIB,
            sized_by="Standard_DS1_v2",
            instance=SMALL,
            workers=3,
            capped="",
        )
    with pytest.raises(NotApplicable, match="no memory readings"):
        memory(
            measured(),
            limit=3584 * MIB,
            sized_by="Standard_DS1_v2",
            instance=SMALL,
            workers=1,
            capped="",
        )


def test_usage_leaves_the_page_cache_out_as_docker_stats_does() -> None:
    assert used({"memory_stats": {"usage": 500, "stats": {"cache": 100}}}) == 400  # cgroup v1
    assert used({"memory_stats": {"usage": 500, "stats": {"inactive_file": 50}}}) == 450  # v2
    assert used({"memory_stats": {}}) is None


def test_the_report_draws_the_phases_against_the_limit() -> None:
    figures = memory(
        measured(300, 900),
        limit=3584 * MIB,
        sized_by="Standard_DS1_v2",
        instance=SMALL,
        workers=1,
        capped="",
    )
    chart = "\n".join(memory_chart(figures))
    assert "xychart-beta" in chart and 'x-axis ["init()", "checks"]' in chart
    assert "bar [300, 900]" in chart and "line [3584, 3584]" in chart
    assert memory_lines("img", figures)[0].startswith(
        "img: memory peak 900 MiB (checks) of 3584 MiB"
    )


def test_the_summary_says_when_the_engine_capped_the_instance_types_cpus() -> None:
    capped = "Standard_F8s_v2's 8 vCPUs capped at the engine's 2"
    figures = memory(
        measured(300),
        limit=16384 * MIB,
        sized_by="Standard_F8s_v2",
        instance=find("Standard_F8s_v2"),
        workers=1,
        capped=capped,
    )
    assert "Standard_F8s_v2's 8 vCPUs capped at the engine's 2" in memory_lines("img", figures)[1]


def test_a_server_that_never_answered_gets_no_memory_summary_unless_killed_for_memory() -> None:
    sized = {"limit": 3584 * MIB, "sized_by": "Standard_DS1_v2", "instance": SMALL, "workers": 1}
    with pytest.raises(NotApplicable, match="the server never answered.*see liveness"):
        memory(measured(300), **sized, capped="", never_served="exited with code 3")
    with pytest.raises(CheckFailed, match="out of memory"):
        memory(measured(3500, oom=True), **sized, capped="", never_served="exited with code 137")
