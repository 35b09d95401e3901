"""run() waits a known time a request (WAIT_MS, default 100 ms) and uses no CPU: a model behind I/O."""

import os
import time

WAIT = float(os.environ.get("WAIT_MS", "100")) / 1000


def init():
    pass


def run(raw_data):
    time.sleep(WAIT)
    return {"waited_ms": WAIT * 1000}
