"""One container's memory through the run: the engine's stats (the watch), marked by phase as checks run, and the
kernel's peak read at three moments: once every worker's ``init()`` is done, once the scoring phases ended, and
as a batch job ends."""

from __future__ import annotations

import dataclasses
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Callable

from pytest_amlimage.engine.container import AmlContainer
from pytest_amlimage.engine.memory import (
    KernelPeak,
    Memory,
    MemoryWatch,
    Reading,
)

# check -> memory phase
PHASES = {"score": "samples", "liveness-under-load": "burst", "concurrency": "burst"}
SCORING = "scoring"  # the phase of a kernel peak that grew after start-up


def phase_of(check: str) -> str:
    """The memory phase a check's readings belong to (its family's, else the other checks')."""
    return PHASES.get(check.partition("[")[0], "checks")


@dataclass(frozen=True)
class PhasePeak:
    """The kernel's peak as a reading of the phase it was read in."""

    reading: Reading
    kernel: KernelPeak


class ContainerMemory:
    """The container's memory: the engine's stats, and the kernel's peak read at three moments."""

    def __init__(self, container: AmlContainer, watch: MemoryWatch, pool: Executor) -> None:
        self.container, self.watch, self.pool = container, watch, pool
        self._phase = "checks"
        # the kernel's peak once every worker's init() is done, and again once the scoring phases ended
        self._startup: Future[PhasePeak | None] | None = None
        self._scoring: Future[PhasePeak | None] | None = None
        self._batch: PhasePeak | None = None

    def mark(self, phase: str) -> None:
        self.watch.mark(phase)

    def after_init(self, workers_started: Callable[[], bool]) -> None:
        """Read the start-up peak in the background, once ``workers_started`` (it waits) says the server is up."""
        self._startup = self.pool.submit(
            lambda: self.kernel_peak("init()") if workers_started() else None
        )

    def kernel_peak(self, phase: str) -> PhasePeak | None:
        """The kernel's peak now, as a reading of ``phase``; None where no counter can be read."""
        found = self.container.kernel_peak()
        return PhasePeak(Reading(self.watch.since(), found.used, phase), found) if found else None

    def enter(self, check: str) -> None:
        """``check`` starts: the readings from now on are its phase's. The first check after the scoring
        phases reads the kernel's peak again, in the background."""
        phase = phase_of(check)
        self.mark(phase)
        if self._phase in PHASES.values() and phase not in PHASES.values():
            self.after_scoring()
        self._phase = phase

    def after_scoring(self) -> None:
        """The scoring phases ended: read the kernel's peak at once, in the background (``memory`` finds it
        done)."""
        if self._scoring is None and self._startup is not None:
            self._scoring = self.pool.submit(self.kernel_peak, SCORING)

    def exact(self) -> Memory | None:
        """The kernel's peaks after start-up and after scoring (or now), with the stats between; None where
        no counter could be read or nothing was served."""
        startup = self._startup.result() if self._startup is not None else None
        if startup is None:
            return None
        # read again now when no scoring phase ran: what it grew by is the other checks'
        scored = self._scoring.result() if self._scoring is not None else None
        later = scored or self.kernel_peak("checks")
        if later is None:
            return None
        grew = (later.reading,) if later.reading.used > startup.reading.used else ()
        readings = sorted((*self.watch.so_far(), startup.reading, *grew), key=lambda r: r.seconds)
        return Memory(tuple(readings), later.kernel.oom_kills > 0, exact=True)

    def batch_ended(self) -> int:
        """The batch job ended: its peak read; the kernel's kills for want of memory so far."""
        self._batch = self.kernel_peak("batch")
        return self._batch.kernel.oom_kills if self._batch is not None else 0

    def batch(self) -> Memory:
        """The batch job's memory: the kernel's peak as it ended, else the engine's stats."""
        if self._batch is not None:
            return Memory((self._batch.reading,), self._batch.kernel.oom_kills > 0, exact=True)
        return self.watch.memory()

    def sampled(self, killed: bool) -> Memory:
        """The engine's stats (a fresh reading waited for); ``killed``: the log shows a worker's kill, which the
        container's state misses."""
        found = self.watch.memory()
        return dataclasses.replace(found, oom_killed=True) if killed else found
