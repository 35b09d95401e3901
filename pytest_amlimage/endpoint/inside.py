"""Reaching the server from inside its own container: for a run with no network, where nothing is published.

One exec of the image's own Python waits for ``GET /`` and then posts every sample, with the standard
library only, and answers in one framed JSON document.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_amlimage.probe.inimage.frame import BEGIN, END, framed

if TYPE_CHECKING:
    from pytest_amlimage.engine.container import AmlContainer

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
    """What the server answered from inside: whether it came up, when, and each sample's status or error."""

    ready: bool
    seconds: float = 0.0
    scores: dict[str, Any] = field(default_factory=dict)
    log: str = ""  # the container's log, for the cause of a failure


def serve_inside(
    container: AmlContainer,
    python: str,
    route: tuple[int, str],
    timeouts: tuple[float, float],
    samples: dict[str, bytes],
) -> Inside:
    """Wait for the server and score ``samples`` from inside ``container``, with its ``python``."""
    port, path = route
    bodies = json.dumps({name: body.decode("utf-8", "replace") for name, body in samples.items()})
    arguments = [BEGIN, END, str(port), path, f"{timeouts[0]:g}", f"{timeouts[1]:g}", bodies]
    result = container.exec([python, "-c", CLIENT, *arguments])
    found = framed(result.output) or {}
    log = container.logs(tail=400)
    return Inside(
        bool(found.get("ready")), float(found.get("seconds", 0)), dict(found.get("scores", {})), log
    )
