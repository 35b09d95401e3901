"""The container's memory against the instance type's: the peak the engine measured, the kernel's kills,
and which instance types the deployment fits on."""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

from pytest_amlimage.checks.check import Properties, endpoint_figures
from pytest_amlimage.config.instance_types import HEADROOM, InstanceType, fitting
from pytest_amlimage.engine.memory import Memory
from pytest_amlimage.errors import CheckFailed

MIB = 1024**2


def figures(found: Memory, limit: int, workers: int) -> dict[str, Any]:
    """The measurement as the summary, JUnit and the report show it (MiB)."""
    peak = found.peak
    per_worker = (peak.used / workers) if peak else 0
    fits = fitting(peak.used) if peak else []
    return {
        "peak_mib": round(peak.used / MIB, 1) if peak else None,
        "phase": peak.phase if peak else None,
        "limit_mib": round(limit / MIB, 1),
        "margin": round(1 - peak.used / limit, 3) if peak else None,
        "oom_killed": found.oom_killed,
        "workers": workers,
        "per_worker_mib": round(per_worker / MIB, 1),
        "max_workers": math.floor(limit * (1 - HEADROOM) / per_worker) if per_worker else None,
        "fits": [t.name for t in fits],
        "phases": [[phase, round(used / MIB, 1)] for phase, used in found.by_phase()],
    }


def memory(
    found: Memory,
    limit: int,
    sized_by: str,
    instance: InstanceType | None,
    workers: int,
    measured: dict[str, Any],
) -> None:
    """No out-of-memory kill, the peak within the instance type's memory (else the container's limit), with
    15 % to spare (less is a warning)."""
    budget = instance.memory_bytes if instance is not None else limit
    measured.update(figures(found, budget, workers), sized_by=sized_by)
    fits = ", ".join(measured["fits"]) or "none in the table"
    if found.oom_killed:
        before = f"; {measured['peak_mib']:g} MiB measured before it" if found.peak else ""
        raise CheckFailed(
            f"out of memory: the kernel killed a process at the container's limit of "
            f"{measured['limit_mib']:g} MiB ({sized_by}){before}. Each of the {workers} worker(s) runs init() "
            f"and holds its own model: use a larger instance type, fewer workers (WORKER_COUNT), or a "
            f"smaller model"
        )
    if found.peak is None:
        raise pytest.skip.Exception(
            "the engine reported no memory readings", _use_item_location=True
        )
    if found.peak.used > budget:
        raise CheckFailed(
            f"peak memory {measured['peak_mib']:g} MiB ({measured['phase']}) is over the "
            f"{measured['limit_mib']:g} MiB of {sized_by}: the endpoint would kill the container; "
            f"instance types with room: {fits}"
        )
    if measured["margin"] < HEADROOM:
        warnings.warn(
            pytest.PytestWarning(
                f"memory: peak {measured['peak_mib']:g} MiB ({measured['phase']}) leaves "
                f"{measured['margin']:.0%} of {measured['limit_mib']:g} MiB ({sized_by}); "
                f"instance types with room: {fits}"
            ),
            stacklevel=1,
        )


def properties(measured: dict[str, Any]) -> Properties:
    return endpoint_figures({"memory": dict(measured)} if measured else {})
