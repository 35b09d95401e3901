import json
import os

scale = None


def init():
    global scale
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "weights.json")) as handle:
        scale = json.load(handle)["scale"]


def run(raw_data):
    values = json.loads(raw_data)["data"]
    return {"scaled": [v * scale for v in values]}
