"""The container's memory against the instance type's: the peak the engine measured, the kernel's kills,
and which instance types the deployment fits on."""

from __future__ import annotations

import dataclasses
import math
import warnings

import pytest

from pytest_amlimage.checks.check import MemoryFigures, attached
from pytest_amlimage.config.instance_types import HEADROOM, InstanceType, fitting
from pytest_amlimage.engine.memory import Memory
from pytest_amlimage.errors import CheckFailed, NotApplicable

MIB = 1024**2


def figures(
    found: Memory, *, limit: int, workers: int, sized_by: str, capped: str = ""
) -> MemoryFigures:
    """The measurement as the summary, JUnit and the report show it (MiB)."""
    peak = found.peak
    per_worker = (peak.used / workers) if peak else 0
    return MemoryFigures(
        peak_mib=round(peak.used / MIB, 1) if peak else None,
        phase=peak.phase if peak else None,
        limit_mib=round(limit / MIB, 1),
        margin=round(1 - peak.used / limit, 3) if peak else None,
        oom_killed=found.oom_killed,
        workers=workers,
        per_worker_mib=round(per_worker / MIB, 1),
        max_workers=math.floor(limit / per_worker)
        if per_worker
        else None,  # HEADROOM is the margin's
        fits=[t.name for t in fitting(peak.used)] if peak else [],
        phases=[(phase, round(used / MIB, 1)) for phase, used in found.by_phase()],
        sized_by=sized_by,
        capped=capped,
        exact=found.exact,
    )


def memory(
    found: Memory,
    *,
    limit: int,
    sized_by: str,
    instance: InstanceType | None,
    workers: int,
    capped: str,
    never_served: str | None = None,
    allowed: tuple[InstanceType, ...] = (),
    fewer: str = "WORKER_COUNT",
) -> MemoryFigures:
    """No out-of-memory kill, the peak within the instance type's memory (else the container's limit), with
    15 % to spare (less is a warning). A server that never answered has no serving peak to judge (unless the
    kernel killed it for memory): a skip, pointing at liveness."""
    if never_served and not found.oom_killed:
        raise NotApplicable(
            "the server never answered, so no serving peak was measured: see liveness"
        )
    budget = instance.memory_bytes if instance is not None else limit
    measured = figures(found, limit=budget, workers=workers, sized_by=sized_by, capped=capped)
    peak = found.peak.used if found.peak else 0
    measured = dataclasses.replace(
        measured,
        allowed=[(t.name, round(t.memory_bytes / MIB, 1), peak <= t.memory_bytes) for t in allowed],
    )
    with attached(measured):
        _judge(found, measured, budget, fewer)
        _too_small(measured)
    return measured


def _too_small(measured: MemoryFigures) -> None:
    """Each allowed instance type the peak does not fit, named with its memory (the others fit)."""
    small = [(name, mib) for name, mib, fits in measured.allowed if not fits]
    if small:
        named = "; ".join(f"{name} has {mib:g} MiB" for name, mib in small)
        raise CheckFailed(
            f"peak memory {measured.peak_mib:g} MiB ({measured.phase}) does not fit every allowed instance "
            f"type: {named}. Drop it from the template's allowed_instance_types, or make init() smaller"
        )


def _judge(found: Memory, measured: MemoryFigures, budget: int, fewer: str) -> None:
    """``fewer``: the setting that makes fewer workers (each holds its own model)."""
    fits, sized_by = ", ".join(measured.fits) or "none in the table", measured.sized_by
    if found.oom_killed:
        before = f"; {measured.peak_mib:g} MiB measured before it" if found.peak else ""
        raise CheckFailed(
            f"out of memory: the kernel killed a process at the container's limit of "
            f"{measured.limit_mib:g} MiB ({sized_by}){before}. Each of the {measured.workers} worker(s) runs "
            f"init() and holds its own model: use a larger instance type, fewer workers ({fewer}), or "
            f"a smaller model"
        )
    if found.peak is None or measured.margin is None:
        raise NotApplicable("the engine reported no memory readings")
    if found.peak.used > budget:
        raise CheckFailed(
            f"peak memory {measured.peak_mib:g} MiB ({measured.phase}) is over the "
            f"{measured.limit_mib:g} MiB of {sized_by}: the endpoint would kill the container; "
            f"instance types with room: {fits}"
        )
    if measured.margin < HEADROOM:
        warnings.warn(
            pytest.PytestWarning(
                f"memory: peak {measured.peak_mib:g} MiB ({measured.phase}) leaves "
                f"{measured.margin:.0%} of {measured.limit_mib:g} MiB ({sized_by}); "
                f"instance types with room: {fits}"
            ),
            stacklevel=1,
        )
