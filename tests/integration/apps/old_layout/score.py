# Reads the model where the old, wrong layout put it: $AZUREML_MODEL_DIR/weights.json. On an endpoint the
# model folder sits inside AZUREML_MODEL_DIR (here: .../model/weights.json), so init() fails there.
import json
import os

scale = None


def init():
    global scale
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "weights.json")) as handle:
        scale = json.load(handle)["scale"]


def run(raw_data):
    values = json.loads(raw_data)["data"]
    return {"scaled": [v * scale for v in values]}
