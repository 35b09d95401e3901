import json

import helpers


def init():
    pass


def run(raw_data):
    return {"total": helpers.total(json.loads(raw_data)["data"])}
