"""init() holds a large model in memory (HOLD_MIB, touched): each worker its own."""

import os


def init():
    global model
    model = b"\x01" * (int(os.environ.get("HOLD_MIB", "600")) << 20)


def run(mini_batch):
    return mini_batch
