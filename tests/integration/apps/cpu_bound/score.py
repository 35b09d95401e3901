"""run() spends a known CPU time a request (COST_MS of busy work, default 20 ms) and waits on nothing."""

import os
import time

COST = float(os.environ.get("COST_MS", "20")) / 1000


def init():
    pass


def run(raw_data):
    start = time.process_time()
    while time.process_time() - start < COST:
        pass
    return {"spent_ms": COST * 1000}
