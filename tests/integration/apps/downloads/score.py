# init() downloads its model from MODEL_URL, as from a model hub: fine online, impossible without a network.
import json
import os
import urllib.request

model = None


def init():
    global model
    with urllib.request.urlopen(os.environ["MODEL_URL"], timeout=5) as answer:
        model = json.loads(answer.read())


def run(raw_data):
    return {"weights": model}
