"""The memory check on measured readings: the kill, the budget, the margin, and the instance types that fit."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_amlimage.checks.check import MemoryFigures
from pytest_amlimage.checks.memory import memory
from pytest_amlimage.config.instance_types import find
from pytest_amlimage.engine.memory import (
    PEAK_SCRIPT,
    KernelPeak,
    Memory,
    Reading,
    host_peak,
    kernel_peak,
    used,
)
from pytest_amlimage.errors import CheckFailed, NotApplicable
from pytest_amlimage.run.report import memory_chart, memory_lines

MIB = 1024**2
SMALL = find("Standard_DS1_v2")  # 3.5 GiB


def measured(*mib: float, oom: bool = False) -> Memory:
    phases = ["init()", "checks", "samples", "burst"]
    return Memory(tuple(Reading(i, int(m * MIB), phases[i % 4]) for i, m in enumerate(mib)), oom)


def on_small(
    found: Memory, *, limit_mib: int = 3584, workers: int = 1, **more: Any
) -> MemoryFigures:
    """The memory check sized as Standard_DS1_v2 (3.5 GiB), with ``limit_mib`` as the container's limit."""
    return memory(
        found,
        limit=limit_mib * MIB,
        sized_by="Standard_DS1_v2",
        instance=SMALL,
        workers=workers,
        capped="",
        **more,
    )


def test_a_peak_with_room_passes_and_names_what_fits() -> None:
    figures = on_small(measured(300, 900, 1200, 1000), workers=2)
    assert (figures.peak_mib, figures.phase, figures.per_worker_mib) == (1200, "samples", 600)
    # 3584 * 0.85 / 600
    assert figures.fits[0] == "Standard_DS1_v2" and figures.max_workers == 5
    assert figures.phases == [("init()", 300), ("checks", 900), ("samples", 1200), ("burst", 1000)]


def test_a_thin_margin_warns_and_an_overrun_or_a_kill_fails() -> None:
    with pytest.warns(pytest.PytestWarning, match="leaves 6% of 3584 MiB"):
        on_small(measured(3350))
    with pytest.raises(CheckFailed, match="is over the 3584 MiB of Standard_DS1_v2") as over:
        # --aml-memory above the SKU's
        on_small(measured(3700), limit_mib=8192)
    assert isinstance(over.value.figures, MemoryFigures) and over.value.figures.peak_mib == 3700
    with pytest.raises(CheckFailed, match="^out of memory: the kernel killed a process"):
        on_small(measured(3500, oom=True), workers=3)
    with pytest.raises(NotApplicable, match="no memory readings"):
        on_small(measured())


def test_usage_leaves_the_page_cache_out_as_docker_stats_does() -> None:
    assert used({"memory_stats": {"usage": 500, "stats": {"cache": 100}}}) == 400  # cgroup v1
    assert used({"memory_stats": {"usage": 500, "stats": {"inactive_file": 50}}}) == 450  # v2
    assert used({"memory_stats": {}}) is None


def test_the_report_draws_the_phases_against_the_limit() -> None:
    figures = on_small(measured(300, 900))
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
    with pytest.raises(NotApplicable, match="the server never answered.*see liveness"):
        on_small(measured(300), never_served="exited with code 3")
    with pytest.raises(CheckFailed, match="out of memory"):
        on_small(measured(3500, oom=True), never_served="exited with code 137")


def peak_on(tree: Path) -> KernelPeak | None:
    """PEAK_SCRIPT run by sh on a fake tree, as it runs in the container on the real one."""
    output = subprocess.run(
        ["sh", "-c", PEAK_SCRIPT, "peak", str(tree)], capture_output=True, text=True, check=True
    ).stdout
    return kernel_peak(output)


def write(tree: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_text(text)
    return tree


V2_STAT = "anon 1610612736\nfile 52428800\nactive_file 20971520\ninactive_file 31457280\n"
V1_STAT = "cache 41943040\nrss 1610612736\ninactive_file 31457280\ntotal_inactive_file 31457280\n"
SCOPE = "system.slice/docker-0123abcd.scope"


@pytest.mark.parametrize(
    ("layout", "files", "cgroup"),
    [
        (  # cgroup v2, private namespace (Docker's default there): the container's cgroup is the root
            "v2 private",
            {"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.peak": "1642070016\n"},
            "cgroup v2",
        ),
        (  # cgroup v2, host namespace: the whole hierarchy, the container's cgroup below it
            "v2 host",
            {
                "proc/self/cgroup": f"0::/{SCOPE}\n",
                f"sys/fs/cgroup/{SCOPE}/memory.peak": "1642070016\n",
            },
            "cgroup v2",
        ),
        (  # cgroup v1 (these machines): the memory controller's folder is the container's own
            "v1",
            {
                "proc/self/cgroup": "9:pids:/docker/0123\n4:memory:/docker/0123\n",
                "sys/fs/cgroup/memory/memory.max_usage_in_bytes": "1642070016\n",
            },
            "cgroup v1",
        ),
        (  # cgroup v1 with the host's hierarchy mounted: below it, by /proc/self/cgroup's path
            "v1 host",
            {
                "proc/self/cgroup": "4:memory:/docker/0123\n",
                "sys/fs/cgroup/memory/docker/0123/memory.max_usage_in_bytes": "1642070016\n",
            },
            "cgroup v1",
        ),
    ],
)
def test_the_kernels_peak_is_read_on_every_cgroup_layout(
    tmp_path: Path, layout: str, files: dict[str, str], cgroup: str
) -> None:
    tree = write(tmp_path, files)
    peak_file = next(name for name in files if name.endswith(("memory.peak", "_in_bytes")))
    stat = V2_STAT if cgroup == "cgroup v2" else V1_STAT
    folder = Path(peak_file).parent
    write(tree, {str(folder / "memory.stat"): stat})
    # the page cache the kernel can drop is left out, as docker stats does
    assert peak_on(tree) == KernelPeak(cgroup, 1642070016 - 31457280)
    # the kernel's kills for want of memory: a worker's too, which the container's state misses
    kills = (
        {str(folder / "memory.events"): "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n"}
        if cgroup == "cgroup v2"
        else {str(folder / "memory.oom_control"): "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n"}
    )
    write(tree, kills)
    assert peak_on(tree) == KernelPeak(cgroup, 1642070016 - 31457280, oom_kills=1)


def test_no_counter_is_none_so_the_stats_are_sampled(tmp_path: Path) -> None:
    tree = write(tmp_path, {"proc/self/cgroup": "0::/\n", "sys/fs/cgroup/memory.current": "1\n"})
    assert peak_on(tree) is None


def test_a_sampled_peak_says_it_may_be_low_and_the_kernels_does_not() -> None:
    readings = measured(300, 900)
    exact = on_small(Memory(readings.readings, False, exact=True))
    sampled = on_small(Memory(readings.readings, False, exact=False))
    assert "may be low" not in memory_lines("img", exact)[0]
    assert memory_lines("img", sampled)[0].endswith(
        "(margin 75%; sampled from the engine's stats, so it may be low)"
    )


def test_a_templates_allowed_types_are_judged_each_tabled_and_charted() -> None:
    allowed = (find("Standard_DS1_v2"), find("Standard_DS2_v2"))
    sized = {
        "limit": 7168 * MIB,
        "sized_by": "Standard_DS2_v2",
        "instance": allowed[1],
        "workers": 1,
    }
    with pytest.raises(
        CheckFailed, match="does not fit every allowed instance type: Standard_DS1_v2 has 3584 MiB"
    ) as failed:
        memory(measured(300, 4000), **sized, capped="", allowed=tuple(t for t in allowed if t))
    figures = failed.value.figures  # type: ignore[attr-defined]
    assert figures.allowed == [
        ("Standard_DS1_v2", 3584.0, False),
        ("Standard_DS2_v2", 7168.0, True),
    ]
    assert memory_lines("img", figures)[-2:] == [
        "img:   Standard_DS1_v2       3584 MiB  too small",
        "img:   Standard_DS2_v2       7168 MiB  fits",
    ]
    assert [line for line in memory_chart(figures) if "line [" in line][1:] == [
        "    line [3584, 3584]",
        "    line [7168, 7168]",
    ]


@pytest.mark.parametrize(
    ("folder", "peak", "kills", "cgroup"),
    [
        ("system.slice/docker-abc123.scope", "memory.peak", "memory.events", "cgroup v2"),
        ("docker/abc123", "memory.peak", "memory.events", "cgroup v2"),
        ("memory/docker/abc123", "memory.max_usage_in_bytes", "memory.oom_control", "cgroup v1"),
        (
            "memory/system.slice/docker-abc123.scope",
            "memory.max_usage_in_bytes",
            "memory.oom_control",
            "cgroup v1",
        ),
    ],
)
def test_a_local_engines_cgroup_is_read_from_this_machines_side(
    tmp_path: Path, folder: str, peak: str, kills: str, cgroup: str
) -> None:
    stat = V2_STAT if cgroup == "cgroup v2" else V1_STAT
    write(
        tmp_path,
        {
            f"{folder}/{peak}": "1642070016\n",
            f"{folder}/memory.stat": stat,
            f"{folder}/{kills}": "oom_kill 2\n",
        },
    )
    assert host_peak("abc123", str(tmp_path)) == KernelPeak(
        cgroup, 1642070016 - 31457280, oom_kills=2
    )
    assert host_peak("another", str(tmp_path)) is None  # not in sight: the exec reads it
