"""The container's memory: the kernel's own peak counter, and the engine's stats over its life.

The peak is the kernel's: cgroup v2's ``memory.peak`` (Linux 5.19 and later) or cgroup v1's
``memory.max_usage_in_bytes``, read from this machine's side where the engine is local and its cgroups are
in sight (``host_peak``), else inside the container by one short exec (``PEAK_SCRIPT``, shell built-ins
only), with or without a private cgroup namespace. A peak only grows, so a reading once every worker's
``init()`` is done is the start-up peak, and a later one that grew gives the excess to scoring. Where no
counter can be read (an old kernel, a runtime that hides it), the engine's stats, polled every second on a
thread of its own, are the peak: sampled, so it may be low. The poll also runs for the Markdown report's
chart, and not otherwise (each stats call costs the engine CPU while the server starts). Every figure is
memory in use as ``docker stats`` counts it: the page cache the kernel can drop (``inactive_file``) left out.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLL = 1.0  # seconds between readings (the engine's own stream's pace); a phase's end gets one of its own


@dataclass(frozen=True)
class Reading:
    seconds: float  # since the watch began
    used: int  # bytes
    phase: str


@dataclass(frozen=True)
class Memory:
    """What was measured: every reading, whether the kernel killed a process for want of memory, and whether
    the peak is the kernel's own counter (``exact``) or sampled from the engine's stats."""

    readings: tuple[Reading, ...]
    oom_killed: bool
    exact: bool = False

    @property
    def peak(self) -> Reading | None:
        return max(self.readings, key=lambda r: r.used) if self.readings else None

    def by_phase(self) -> list[tuple[str, int]]:
        """Each phase's highest reading, in the order the phases came."""
        found: dict[str, int] = {}
        for reading in self.readings:
            found[reading.phase] = max(found.get(reading.phase, 0), reading.used)
        return list(found.items())


# The kernel's peak for this cgroup, read with sh built-ins only (any image with a shell); $1 is a prefix
# (tests run it on a fake tree). Prints "cgroup vN PEAK", memory.stat and the kernel's kills for want of
# memory (v2's memory.events, v1's memory.oom_control: "oom_kill N"), or "none".
PEAK_SCRIPT = r"""
p=${1:-}; v1=; v2=
while IFS=: read -r id controllers path; do
  case "$controllers" in '') v2=$path ;; *memory*) v1=$path ;; esac
done < "$p/proc/self/cgroup"
lines() { [ -r "$1" ] && while read -r line; do echo "$line"; done < "$1"; }
show() { read -r peak < "$2" && echo "$1 $peak" && lines "$3"; lines "$4"; true; }
for d in "$p/sys/fs/cgroup" "$p/sys/fs/cgroup$v2"; do
  [ -r "$d/memory.peak" ] && show "cgroup v2" "$d/memory.peak" "$d/memory.stat" "$d/memory.events" && exit 0
done
for d in "$p/sys/fs/cgroup/memory" "$p/sys/fs/cgroup/memory$v1"; do
  [ -r "$d/memory.max_usage_in_bytes" ] \
    && show "cgroup v1" "$d/memory.max_usage_in_bytes" "$d/memory.stat" "$d/memory.oom_control" && exit 0
done
echo none
"""


@dataclass(frozen=True)
class KernelPeak:
    """The kernel's peak for the container's cgroup, the page cache it may drop left out (bytes)."""

    cgroup: str  # "cgroup v1" or "cgroup v2"
    used: int
    # processes the kernel killed in the cgroup for want of memory (a worker's too)
    oom_kills: int = 0


def kernel_peak(output: str) -> KernelPeak | None:
    """``PEAK_SCRIPT``'s output read: None where no counter could be read."""
    first, _, rest = output.strip().partition("\n")
    cgroup, _, value = first.rpartition(" ")
    if not cgroup.startswith("cgroup v") or not value.isdigit():
        return None
    stat = dict(line.split(" ", 1) for line in rest.splitlines() if line.count(" ") == 1)
    cache = stat.get("total_inactive_file", stat.get("inactive_file", "0"))
    kills = stat.get("oom_kill", "0")
    return KernelPeak(
        cgroup,
        int(value) - (int(cache) if cache.isdigit() else 0),
        int(kills) if kills.isdigit() else 0,
    )


# where a local engine keeps a container's cgroup on the host: (peak, stat, kills) under each candidate folder
V1_PEAK, V2_PEAK = "memory.max_usage_in_bytes", "memory.peak"
HOST_CGROUPS = (  # v2 under systemd, v2 under cgroupfs, v1 under cgroupfs, v1 under systemd
    ("{root}/system.slice/docker-{id}.scope", V2_PEAK, "memory.events"),
    ("{root}/docker/{id}", V2_PEAK, "memory.events"),
    ("{root}/memory/docker/{id}", V1_PEAK, "memory.oom_control"),
    ("{root}/memory/system.slice/docker-{id}.scope", V1_PEAK, "memory.oom_control"),
)


def host_peak(container_id: str, root: str = "/sys/fs/cgroup") -> KernelPeak | None:
    """The same counters read from this machine's side, where the engine is local and its cgroups are in
    sight (no exec: a few file reads); None elsewhere (a remote engine, a VM, a CI job in a container)."""
    for folder, peak, kills in HOST_CGROUPS:
        where = Path(folder.format(root=root, id=container_id))
        try:
            value = (where / peak).read_text().strip()
            stat = (where / "memory.stat").read_text()
        except OSError:
            continue
        try:
            killed = (where / kills).read_text()
        except OSError:
            killed = ""
        version = "cgroup v2" if peak == V2_PEAK else "cgroup v1"
        return kernel_peak(f"{version} {value}\n{stat}\n{killed}")
    return None


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
    """Follows one container's stats on a thread of its own until the container goes.

    The engine answers a stats request at most once a second (a request sooner waits for the second to
    pass, then samples), so every reading is the one thread's: a phase that ends gets the next reading as its
    closing one, and ``memory()`` wakes the thread and waits for a reading that ends after it was asked.
    """

    def __init__(self, api: Any, container_id: str, phase: str = "init()") -> None:
        self._api, self._id = api, container_id
        self._started, self._phase = time.monotonic(), phase
        self._readings: list[Reading] = []
        self._closing: list[str] = []  # phases ended since the last reading: it is theirs too
        self._finished = 0  # readings ended
        self._gone = False  # the container (or the engine) went: the readings so far stand
        self._changed = threading.Condition()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="amlimage-memory", daemon=True)

    def follow(self) -> MemoryWatch:
        """Start reading the engine's stats (once): for the report's chart, or where the kernel's counter
        cannot be read. Until then nothing is polled."""
        with self._changed:
            if not self._thread.is_alive() and self._thread.ident is None:
                self._thread.start()
        return self

    def mark(self, phase: str) -> None:
        """Readings from now on belong to ``phase``; the one ending gets the next reading, taken now."""
        with self._changed:
            ending, self._phase = self._phase, phase
            if ending != phase:
                self._closing.append(ending)
        self._wake.set()

    def _read_once(self) -> bool:
        """One reading, for the phases that ended since the last one and the current one; False once gone."""
        with self._changed:
            phases, self._closing = [*self._closing, self._phase], []
        try:
            found = used(self._api.stats(self._id, stream=False, one_shot=True))
        except Exception:
            found = None
            self._gone = True
        with self._changed:
            at = time.monotonic() - self._started
            if found is not None and found > 0:
                self._readings += [Reading(at, found, phase) for phase in dict.fromkeys(phases)]
            self._finished += 1
            self._changed.notify_all()
        return not self._gone

    def _follow(self) -> None:
        """A reading every POLL seconds, or at once when woken, until the container goes."""
        while self._read_once():
            self._wake.wait(POLL)
            self._wake.clear()

    def so_far(self) -> tuple[Reading, ...]:
        """The readings taken so far, without waiting for another."""
        with self._changed:
            return tuple(sorted(self._readings, key=lambda r: r.seconds))

    def since(self) -> float:
        """Seconds since the watch began: the time a reading taken now is shown at."""
        return time.monotonic() - self._started

    def oom_killed(self) -> bool:
        """Whether the kernel killed a process in the container for want of memory (its state says so)."""
        try:
            return bool(self._api.inspect_container(self._id).get("State", {}).get("OOMKilled"))
        except Exception:
            return False

    def memory(self, within: float = 5.0) -> Memory:
        """Every reading, including one that ends after this call (so what the caller waited for is measured),
        and whether the kernel killed a process for want of memory. The caller asks once what it measures is
        in place (every worker's init() done)."""
        self.follow()
        with self._changed:
            # the next reading to end: the engine samples as it answers, so one asked for before this call
            # still measures after it
            wanted = self._finished + 1
            self._wake.set()
            self._changed.wait_for(lambda: self._finished >= wanted or self._gone, timeout=within)
            readings = tuple(sorted(self._readings, key=lambda r: r.seconds))
        return Memory(readings, self.oom_killed())
