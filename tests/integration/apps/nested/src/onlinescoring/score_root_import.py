# Works when run from the code folder's root locally; on the endpoint the app root is onlinescoring/.
import json

from helpers import double


def init():
    pass


def run(raw_data):
    return {"doubled": double(json.loads(raw_data)["data"])}
