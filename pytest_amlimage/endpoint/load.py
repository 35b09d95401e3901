"""A closed-loop load on the scoring route, as perf_analyzer measures one: ``concurrency`` clients, each sending
the next request as soon as its last one is answered, the samples in turn. The step runs in windows until two
windows agree within ``AGREE`` (or its time is up); what the host had to spare is read beside it.

The client is requests with one pooled keep-alive ``Session`` a client thread: the established client the plugin
already sends every check with, whose connection reuse is what a load generator needs; its own cost per request
is what ``--aml-capacity``'s ceiling figure in the bench measures.
"""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import requests

AGREE = 0.10  # two windows' throughput within 10 % of each other: the step is stable
WINDOW = 1.0  # seconds a measuring window lasts
ERROR_KINDS = ("status", "reset", "timeout")


@dataclass(frozen=True)
class Step:
    """One concurrency level's measurement: the stable windows' requests, by latency and by error kind."""

    concurrency: int
    rps: float
    latencies_ms: tuple[float, ...]  # the answered (200) requests', sorted
    errors: dict[str, int] = field(default_factory=dict)  # status, reset, timeout
    host_idle: float | None = None  # the host's idle CPU share while it ran (None: unreadable)

    def percentile(self, share: float) -> float:
        if not self.latencies_ms:
            return 0.0
        return self.latencies_ms[
            min(len(self.latencies_ms) - 1, int(share * len(self.latencies_ms)))
        ]

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


@dataclass
class _Done:
    ended: float
    ms: float
    error: str | None


def host_idle_ticks(stat: Path = Path("/proc/stat")) -> tuple[int, int] | None:
    """(idle, total) CPU ticks of this machine so far; None where /proc/stat cannot be read."""
    try:
        first = stat.read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    ticks = [int(value) for value in first[1:]]
    return ticks[3] + (ticks[4] if len(ticks) > 4 else 0), sum(ticks)


def idle_between(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return (after[0] - before[0]) / (after[1] - before[1])


def _client(
    url: str, bodies: list[bytes], timeout: float, stop: threading.Event, into: list[_Done]
) -> None:
    import requests

    with requests.Session() as http:
        turn = 0
        while not stop.is_set():
            body = bodies[turn % len(bodies)]
            turn += 1
            started = time.perf_counter()
            error = _send(http, url, body, timeout)
            into.append(_Done(time.perf_counter(), 1000 * (time.perf_counter() - started), error))


def _send(http: requests.Session, url: str, body: bytes, timeout: float) -> str | None:
    """None when the endpoint answered 200; else the error's kind."""
    import requests

    headers = {"Content-Type": "application/json"}
    try:
        answer = http.post(url, data=body, headers=headers, timeout=timeout)
    except requests.Timeout:
        return "timeout"
    except requests.RequestException:
        return "reset"
    return None if answer.status_code == 200 else "status"


def closed_loop(
    url: str,
    bodies: list[bytes],
    concurrency: int,
    timeout: float,
    limit: float,
    window: float = WINDOW,
) -> Step:
    """``concurrency`` clients against ``url`` until two windows of ``window`` seconds agree, or ``limit``
    seconds are up."""
    done: list[_Done] = []
    stop = threading.Event()
    clients = [
        threading.Thread(target=_client, args=(url, bodies, timeout, stop, done), daemon=True)
        for _ in range(concurrency)
    ]
    for client in clients:
        client.start()
    started = time.perf_counter()
    # warm-up: connections open, workers take their first requests
    time.sleep(min(window, limit / 4))
    ticks, counts, marks = host_idle_ticks(), [], [time.perf_counter()]
    while time.perf_counter() - started < limit:
        time.sleep(window)
        marks.append(time.perf_counter())
        counts.append(sum(1 for one in list(done) if marks[-2] <= one.ended < marks[-1]))
        if len(counts) >= 2 and _agree(counts[-2], counts[-1]):
            break
    stop.set()
    idle = idle_between(ticks, host_idle_ticks())
    for client in clients:
        client.join(timeout + 1)
    return _step(concurrency, done, (marks[0], marks[-1]), idle)


def _agree(first: int, second: int) -> bool:
    return max(first, second) > 0 and abs(first - second) <= AGREE * max(first, second)


def _step(
    concurrency: int,
    done: list[_Done],
    measured: tuple[float, float],
    idle: float | None,
) -> Step:
    start, end = measured
    inside = [one for one in done if start <= one.ended < end]
    answered = [one for one in inside if one.error is None]
    errors = {kind: sum(1 for one in inside if one.error == kind) for kind in ERROR_KINDS}
    return Step(
        concurrency,
        len(answered) / max(end - start, 1e-9),
        tuple(sorted(one.ms for one in answered)),
        {kind: count for kind, count in errors.items() if count},
        idle,
    )
