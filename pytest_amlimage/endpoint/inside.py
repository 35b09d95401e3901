"""Reaching the server from inside its own container: for a run with no network, where nothing is published.

One exec of the image's own Python waits for ``GET /`` and then posts every sample, with the standard
library only, and answers in one framed JSON document.
"""

from __future__ import annotations

import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_amlimage.endpoint import diagnosis
from pytest_amlimage.endpoint.scoring import cannot_come_up
from pytest_amlimage.endpoint.start_script import Runtime
from pytest_amlimage.endpoint.waiting import poll
from pytest_amlimage.probe.inimage.frame import BEGIN, END, framed

if TYPE_CHECKING:
    from pytest_amlimage.engine.container import AmlContainer

WATCH_EVERY = 0.2  # seconds between readings of the log while the client waits
LOG_TAIL = 400
CLIENT = r"""
import json, sys, time, urllib.error, urllib.request
begin, end, port, path, timeout, score_timeout, samples = sys.argv[1:8]
base, started, ready = "http://127.0.0.1:" + port, time.time(), False
while not ready and time.time() - started < float(timeout):
    try:
        with urllib.request.urlopen(base + "/", timeout=2) as answer:
            ready = answer.status == 200
    except Exception:
        time.sleep(0.2)
scores = {}
for name, body in json.loads(samples).items() if ready else ():
    request = urllib.request.Request(base + path, body.encode(), {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=float(score_timeout)) as answer:
            scores[name] = answer.status
    except urllib.error.HTTPError as error:
        scores[name] = error.code
    except Exception as error:
        scores[name] = str(error)
found = {"ready": ready, "seconds": time.time() - started, "scores": scores}
print(begin + json.dumps(found) + end)
"""


@dataclass(frozen=True)
class Inside:
    """What the server answered from inside: whether it came up, when, and each sample's status or error.

    ``cause``: why it never came up, read from the log as liveness reads it (None when it came up, or
    when the log does not say).
    """

    ready: bool
    seconds: float = 0.0
    scores: dict[str, Any] = field(default_factory=dict)
    log: str = ""  # the container's log, for the cause of a failure
    cause: str | None = None


def serve_inside(
    container: AmlContainer,
    python: str,
    route: tuple[int, str],
    timeouts: tuple[float, float],
    samples: dict[str, bytes],
    workers: int = 1,
) -> Inside:
    """Wait for the server and score ``samples`` from inside ``container``, with its ``python``.

    The log is read meanwhile as the online wait reads it: a cause the server cannot recover from (an
    ``init()`` that raised, a crash loop under runit) ends the wait at once, and the container with it.
    """
    port, path = route
    bodies = json.dumps({name: body.decode("utf-8", "replace") for name, body in samples.items()})
    arguments = [BEGIN, END, str(port), path, f"{timeouts[0]:g}", f"{timeouts[1]:g}", bodies]
    with ThreadPoolExecutor(1, thread_name_prefix="amlimage-offline") as pool:
        client = pool.submit(container.exec, [python, "-c", CLIENT, *arguments])
        hopeless = _hopeless(container, client, workers)
        if hopeless:
            container.kill()  # which ends the client's exec
        found = framed(client.result().output) or {}
    log = container.logs(tail=LOG_TAIL)
    ready = bool(found.get("ready"))
    cause = (
        None
        if ready
        else hopeless or diagnosis.cause(log, container.state()[1], Runtime.of(container))
    )
    scores = dict(found.get("scores", {}))
    return Inside(ready, float(found.get("seconds", 0)), scores, log, cause)


def _hopeless(container: AmlContainer, client: Future[Any], workers: int) -> str | None:
    """While the client waits: what the log shows the server cannot recover from (as the online wait reads it)."""
    return poll(lambda: cannot_come_up(container, workers), every=WATCH_EVERY, until=client.done)
