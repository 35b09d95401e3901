"""The one way the plugin waits on something that answers later (a log line, a worker, a client)."""

from __future__ import annotations

import math
import time
from typing import Callable, TypeVar

T = TypeVar("T")


def never() -> bool:
    return False


def poll(
    ask: Callable[[], T],
    *,
    every: float,
    within: float = math.inf,
    until: Callable[[], bool] = never,
) -> T | None:
    """Ask every ``every`` s until the answer is truthy, ``within`` s have passed, or ``until()`` holds
    (checked before each asking); the last answer, None when never asked."""
    deadline, answer = time.monotonic() + within, None
    while not until():
        answer = ask()
        if answer or time.monotonic() >= deadline:
            break
        time.sleep(every)
    return answer
