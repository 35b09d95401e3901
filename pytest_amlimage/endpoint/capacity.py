"""How much the image serves on one instance type: ``WORKER_COUNT`` swept 1, 2, 4, ..., each worker count in a
container of its own sized as the type, under a closed-loop load stepped 1, 2, 4, ... requests at once.

A worker count stops the sweep when throughput stops rising (under ``RISE``), when the memory measured per worker
would not fit one more doubling on the type, at ``MAX_WORKERS``, or when the type's time budget is spent; the
concurrency steps stop the same way, or once p95 passes the latency bound or a request fails. Whether more workers
than vCPUs pay is found from the measurements (a model that waits gains; a CPU-bound one does not), not from a rule.

Honest numbers: the load runs on this machine and shares its CPUs. A step where the host had no CPU to spare while
the container stayed under its CPU limit is the generator's limit, not the image's: its figure is not claimed.
Where the type has more vCPUs than this machine has cores, the container runs on the cores there are, and a figure
beyond them is an estimate, marked with its rule.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Callable, Protocol

from pytest_amlimage.config.instance_types import HEADROOM, InstanceType
from pytest_amlimage.endpoint.load import Step, closed_loop

RISE = 0.10  # throughput that rises less than this from one step (or worker count) to the next has stopped
MAX_WORKERS = 16  # the sweep's cap: gunicorn's sync workers are processes, each with its own copy of the model
MAX_CONCURRENCY = 64
STEP_LIMIT = 8.0  # seconds a concurrency step may run before its windows agree
GENERATOR_IDLE = 0.10  # the host's idle share under which the load generator had no CPU to spare
# the container's share of its CPU limit at which it, not the generator, is the limit
CPU_BUSY = 0.90


class Served(Protocol):
    """A container of the image serving with a given WORKER_COUNT, sized as the type."""

    url: str  # the scoring route
    error: str | None  # why it never answered (None: it serves)
    cpus: float  # its CPU limit

    def cpu_seconds(self) -> float | None: ...
    def peak_bytes(self) -> int | None: ...


Start = Callable[[int], AbstractContextManager[Served]]


@dataclass(frozen=True)
class WorkerRun:
    """One worker count on one type: its steps, the best within the bound, and what it cost."""

    workers: int
    steps: tuple[Step, ...] = ()
    best: Step | None = None  # the highest throughput within the bound, with no errors
    cpu_percent: float | None = None  # of the container's limit, at the best step
    peak_memory_bytes: int | None = None  # the kernel's counter, as the run ended
    error: str | None = None  # why it could not be measured
    generator_bound: bool = False  # the load generator, not the image, was the limit: not claimed
    cut: bool = False  # the type's budget ended its steps before throughput stopped rising

    @property
    def max_rps(self) -> float | None:
        if self.best is None or self.generator_bound:
            return None
        return self.best.rps


@dataclass(frozen=True)
class TypeCapacity:
    """An instance type's worker counts, measured on ``cores`` (its vCPUs, or fewer where this machine has
    fewer); ``estimate``: the rule a figure beyond the cores measured on was derived by."""

    instance: InstanceType
    cores: float
    runs: tuple[WorkerRun, ...] = ()
    seconds: float = 0.0
    stopped: str = ""  # why the sweep stopped
    estimate: str | None = None

    @property
    def best(self) -> WorkerRun | None:
        """The fewest workers that serve within ``RISE`` of the highest claimed throughput: more workers that
        add less are noise, and each holds its own copy of the model."""
        measured = [(run, self.claimed(run) or 0.0) for run in self.runs if run.max_rps is not None]
        if not measured:
            return None
        top = max(rps for _, rps in measured)
        return min(
            (run for run, rps in measured if rps * (1 + RISE) >= top), key=lambda r: r.workers
        )

    def claimed(self, run: WorkerRun) -> float | None:
        """A run's throughput on the type's own vCPUs: measured, or scaled by vCPUs / cores where it ran on
        fewer cores while CPU-bound (the container at its CPU limit); None when not claimed (the generator was
        the limit, or nothing within the bound)."""
        rps = run.max_rps
        if rps is None or not self.estimate:
            return rps
        busy = run.cpu_percent is not None and run.cpu_percent >= 100 * CPU_BUSY
        return rps * self.instance.vcpus / self.cores if busy else rps


@dataclass
class Sweep:
    """What a capacity run of one type is given: how to start the image, what to send, its bounds."""

    start: Start
    bound_ms: float
    timeout: float  # seconds a request may take
    budget: float  # seconds the type may take
    progress: Callable[[str], None] = print
    started: float = field(default_factory=time.monotonic)

    @property
    def left(self) -> float:
        return self.budget - (time.monotonic() - self.started)


def measure(
    instance: InstanceType, cores: float, sweep: Sweep, bodies: list[bytes]
) -> TypeCapacity:
    """The worker sweep on ``instance`` (its container limited to ``cores``)."""
    runs: list[WorkerRun] = []
    stopped = ""
    for workers in _doublings(MAX_WORKERS):
        if sweep.left <= 0:
            break
        run = _workers(instance, workers, sweep, bodies)
        runs.append(run)
        stopped = _stop_sweep(instance, runs)
        if stopped:
            break
    estimate = None
    if instance.vcpus > cores:
        estimate = (
            f"measured on {cores:g} of {instance.vcpus:g} vCPUs: a CPU-bound figure (the container at its "
            f"CPU limit) is scaled by {instance.vcpus:g}/{cores:g}; one that waited is taken as measured"
        )
    took = sweep.budget - sweep.left
    return TypeCapacity(
        instance, cores, tuple(runs), took, stopped or "the budget was spent", estimate
    )


def _doublings(cap: int) -> Iterator[int]:
    value = 1
    while value <= cap:
        yield value
        value *= 2


def _stop_sweep(instance: InstanceType, runs: list[WorkerRun]) -> str:
    """Why the sweep stops after its last worker count (empty: it goes on)."""
    last = runs[-1]
    if last.cut:
        return f"the budget was spent during WORKER_COUNT={last.workers}"
    if last.error is not None:
        return f"WORKER_COUNT={last.workers} did not serve: {last.error.splitlines()[0]}"
    if last.workers >= MAX_WORKERS:
        return f"the cap of {MAX_WORKERS} workers"
    # the memory measured per worker, times the next count's workers (twice these)
    next_count = 2 * (last.peak_memory_bytes or 0)
    if next_count > instance.memory_bytes * (1 - HEADROOM):
        return f"{2 * last.workers} workers would not fit {instance.name}'s memory"
    if len(runs) >= 2:
        before, now = runs[-2].max_rps or 0.0, last.max_rps or 0.0
        if now < before * (1 + RISE):
            return f"throughput stopped rising at WORKER_COUNT={last.workers}"
    return ""


def _workers(instance: InstanceType, workers: int, sweep: Sweep, bodies: list[bytes]) -> WorkerRun:
    """One worker count: its container started, stepped, and removed."""
    with sweep.start(workers) as served:
        if served.error is not None:
            return WorkerRun(workers, error=served.error)
        steps: list[Step] = []
        cpu: list[float | None] = []
        cut = False
        # one request at a time with one worker; with more, as many at once as there are workers, and up
        for concurrency in (c for c in _doublings(MAX_CONCURRENCY) if c >= workers):
            limit = min(STEP_LIMIT, sweep.left)
            if limit <= 1:
                cut = True
                break
            used, began = served.cpu_seconds(), time.monotonic()
            step = closed_loop(served.url, bodies, concurrency, sweep.timeout, limit)
            after, took = served.cpu_seconds(), time.monotonic() - began
            cpu.append(None if used is None or after is None else (after - used) / took)
            steps.append(step)
            sweep.progress(_progress_line(instance, workers, step))
            if _beyond(step, sweep.bound_ms) or _flat(steps):
                break
        peak = served.peak_bytes()
        judged = _judged(workers, steps, cpu, served.cpus, peak, sweep.bound_ms)
        return dataclasses.replace(judged, cut=cut)


def _progress_line(instance: InstanceType, workers: int, step: Step) -> str:
    errors = f", {step.failed} errors" if step.failed else ""
    return (
        f"amlimage: capacity {instance.name} WORKER_COUNT={workers} concurrency {step.concurrency}: "
        f"{step.rps:.1f} req/s, p95 {step.percentile(0.95):.0f} ms{errors}"
    )


def _beyond(step: Step, bound_ms: float) -> bool:
    return step.failed > 0 or step.percentile(0.95) > bound_ms


def _flat(steps: list[Step]) -> bool:
    return len(steps) >= 2 and steps[-1].rps < steps[-2].rps * (1 + RISE)


def _judged(
    workers: int,
    steps: list[Step],
    cpu: list[float | None],
    limit: float,
    peak: int | None,
    bound_ms: float,
) -> WorkerRun:
    within = [i for i, step in enumerate(steps) if not _beyond(step, bound_ms)]
    if not within:
        return WorkerRun(workers, tuple(steps), peak_memory_bytes=peak)
    best = max(within, key=lambda i: steps[i].rps)
    used = cpu[best]
    share = None if used is None else used / max(limit, 1e-9)
    idle = steps[best].host_idle
    starved = idle is not None and idle < GENERATOR_IDLE and (share is None or share < CPU_BUSY)
    return WorkerRun(
        workers,
        tuple(steps),
        steps[best],
        None if share is None else round(100 * share, 1),
        peak,
        generator_bound=starved,
    )
