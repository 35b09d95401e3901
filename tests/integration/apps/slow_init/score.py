import json
import time


def init():
    time.sleep(3)


def run(raw_data):
    return {"rows": len(json.loads(raw_data)["data"])}
