"""The container's memory over its life, as the engine measures it (its stats, read every second).

Nothing runs in the container for it: the engine reads the container's cgroup. Each reading is the
memory in use as ``docker stats`` counts it (the page cache the kernel can drop left out), tagged
with the phase of the run it came in (``init()``, ``samples``, ...), which the run marks.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

POLL = 1.0  # seconds between readings (the engine's own stream's pace); a phase's end gets one of its own


@dataclass(frozen=True)
class Reading:
    seconds: float  # since the watch began
    used: int  # bytes
    phase: str


@dataclass(frozen=True)
class Memory:
    """What the watch saw: every reading, and whether the kernel killed a process for want of memory."""

    readings: tuple[Reading, ...]
    oom_killed: bool

    @property
    def peak(self) -> Reading | None:
        return max(self.readings, key=lambda r: r.used) if self.readings else None

    def by_phase(self) -> list[tuple[str, int]]:
        """Each phase's highest reading, in the order the phases came."""
        found: dict[str, int] = {}
        for reading in self.readings:
            found[reading.phase] = max(found.get(reading.phase, 0), reading.used)
        return list(found.items())


def used(stats: dict[str, Any]) -> int | None:
    """Memory in use from one stats document, as ``docker stats`` shows it (cgroup v1 and v2)."""
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None
    details = memory.get("stats") or {}
    cache = details.get(
        "total_inactive_file", details.get("inactive_file", details.get("cache", 0))
    )
    return int(usage) - int(cache or 0)


class MemoryWatch:
    """Follows one container's stats on a thread of its own until the container goes."""

    def __init__(self, api: Any, container_id: str, phase: str = "init()") -> None:
        self._api, self._id = api, container_id
        self._started, self._phase = time.monotonic(), phase
        self._readings: list[Reading] = []
        self._ending: list[threading.Thread] = []  # the readings that close a phase, under way
        self._thread = threading.Thread(target=self._follow, name="amlimage-memory", daemon=True)
        self._thread.start()

    def mark(self, phase: str) -> None:
        """Readings from now on belong to ``phase``; the one ending gets a reading of its own, off this thread."""
        ending, self._phase = self._phase, phase
        if ending != phase:
            closing = threading.Thread(target=self._read_once, args=(ending,), daemon=True)
            closing.start()  # started before memory() can see it: a thread not yet started cannot be joined
            self._ending.append(closing)

    def _add(self, stats: dict[str, Any], phase: str) -> None:
        found = used(stats)
        if found is not None and found > 0:
            self._readings.append(Reading(time.monotonic() - self._started, found, phase))

    def _read_once(self, phase: str) -> bool:
        """One reading now; False once the container (or the engine) is gone: the readings so far stand."""
        try:
            self._add(self._api.stats(self._id, stream=False, one_shot=True), phase)
        except Exception:
            return False
        return True

    def _follow(self) -> None:
        """A reading every POLL seconds until the container goes (each one-shot stats call takes ~15 ms)."""
        while self._read_once(self._phase):
            time.sleep(POLL)

    def memory(self) -> Memory:
        """Every reading: those of the poll, each phase's closing one (waited for), and one taken now; and
        whether the kernel killed a process for want of memory. The caller asks once what it measures is in
        place (every worker's init() done), so the peak never falls between two polls."""
        for closing in list(self._ending):
            closing.join()
        self._read_once(self._phase)
        try:
            state = self._api.inspect_container(self._id).get("State", {})
        except Exception:
            state = {}
        readings = tuple(sorted(self._readings, key=lambda r: r.seconds))
        return Memory(readings, bool(state.get("OOMKilled")))
