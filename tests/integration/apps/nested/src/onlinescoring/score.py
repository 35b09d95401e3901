import json

from local_helpers import double


def init():
    pass


def run(raw_data):
    return {"doubled": double(json.loads(raw_data)["data"])}
