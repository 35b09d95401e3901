"""The container runs with the instance type's memory; the kernel's peak counter and its kills decide."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

import pytest

from .conftest import deployment_yaml, expect

pytestmark = pytest.mark.engine


def hungry(pytester: pytest.Pytester, images: dict[str, str], megabytes: int, workers: int) -> str:
    variables = f"  INIT_MB: '{megabytes}'\n  WORKER_COUNT: '{workers}'\n"
    return deployment_yaml(pytester, images["minimal"], "hungry", variables)


def test_an_init_larger_than_a_small_instance_is_killed_and_fits_a_larger_one(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    deployment = hungry(pytester, images, 2600, 1)
    small = run_plugin(
        deployment, "--aml-instance-type=defaultinstancetype", "-k", "memory or liveness"
    )
    expect(small, failed=["memory", "liveness"])
    small.stdout.fnmatch_lines_random(
        [
            "*memory: out of memory: the kernel killed a process at the container's limit of 2048 MiB "
            "(defaultinstancetype (2 vCPU, 2 GiB))*",
            "*liveness: out of memory: the kernel killed a process in the container at its limit of 2048m*",
        ]
    )
    larger = run_plugin(
        deployment, "--aml-instance-type=Standard_DS1_v2", "-k", "memory or liveness"
    )
    expect(larger, passed=["memory", "liveness"])
    larger.stdout.fnmatch_lines(["*memory peak 2* MiB (*) of 3584 MiB, Standard_DS1_v2*"])


def test_a_worker_count_that_no_longer_fits_is_caught(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """Each worker runs init() and holds its own model: two fit in 2 GiB, three do not."""
    two = run_plugin(
        hungry(pytester, images, 650, 2), "--aml-instance-type=defaultinstancetype", "-k", "memory"
    )
    expect(two, passed=["memory"])
    two.stdout.fnmatch_lines(["*MiB per worker x 2: fits on *; up to 2 worker(s) here"])
    three = run_plugin(
        hungry(pytester, images, 650, 3), "--aml-instance-type=defaultinstancetype", "-k", "memory"
    )
    expect(three, failed=["memory"])
    three.stdout.fnmatch_lines(["*memory: out of memory: *Each of the 3 worker(s) runs init()*"])


def test_the_peak_after_init_is_read_every_time_even_under_load(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """An init() that holds 1536 MiB, no samples, so the run may end right after it: on every one of ten runs
    the peak is the memory held (plus the interpreter's and the server's own), the kernel's own counter,
    never a reading from before init() was done; with the host's CPUs busy meanwhile, as on a loaded CI
    machine."""
    deployment = hungry(pytester, images, 1536, 1)
    busy = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import time\nend = time.time() + 120\nwhile time.time() < end: pass",
            ]
        )
        for _ in range(2)
    ]
    try:
        peaks = []
        for _ in range(10):
            result = run_plugin(deployment, "--aml-instance-type=Standard_DS2_v2", "-k", "memory")
            expect(result, passed=["memory"])
            line = next(text for text in result.stdout.lines if "memory peak" in text)
            peaks.append(float(re.search(r"memory peak ([\d.]+) MiB", line).group(1)))  # type: ignore[union-attr]
    finally:
        for process in busy:
            process.kill()
    assert all(1536 <= peak < 1536 + 400 for peak in peaks), peaks
    assert "sampled" not in result.stdout.str()  # the kernel's counter, not the engine's stats


def test_the_kernels_peak_read_inside_the_container_equals_the_local_engines_cgroup(
    engine: Any, images: dict[str, str]
) -> None:
    """The two readers of one counter: the exec (any engine) and this machine's side (a local engine)."""
    from pytest_amlimage.engine.memory import PEAK_SCRIPT, host_peak, kernel_peak

    holder = "b = bytearray(200 * 1024 * 1024); import time; time.sleep(30)"
    container = engine.containers.run(
        images["minimal"], ["python", "-c", holder], detach=True, mem_limit="512m"
    )
    try:
        time.sleep(2)  # the 200 MiB are held
        inside = kernel_peak(container.exec_run(["sh", "-c", PEAK_SCRIPT]).output.decode())
        outside = host_peak(container.id)
    finally:
        container.remove(force=True)
    assert inside is not None and inside.used >= 200 * 1024 * 1024, inside
    if outside is not None:  # None: this engine's cgroups are not in sight
        # one counter, read a moment apart (the exec's own shell may add to it)
        assert (
            outside.cgroup == inside.cgroup and abs(outside.used - inside.used) < 16 * 1024 * 1024
        )
