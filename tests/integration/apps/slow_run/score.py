# run() takes RUN_SECONDS (a deployment environment variable) per request.
import json
import os
import time


def init():
    pass


def run(raw_data):
    time.sleep(float(os.environ.get("RUN_SECONDS", "1")))
    return {"rows": len(json.loads(raw_data)["data"])}
