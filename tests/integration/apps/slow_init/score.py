import time


def init():
    time.sleep(3)


def run(raw_data):
    return {"ok": True}
