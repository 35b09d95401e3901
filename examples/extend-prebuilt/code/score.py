"""Entry script: a linear model whose weights live in the model folder."""

import json
import os

import numpy as np

model = None


def init():
    global model
    path = os.path.join(os.environ["AZUREML_MODEL_DIR"], "linear.json")
    with open(path) as handle:
        params = json.load(handle)
    model = (np.asarray(params["weights"]), float(params["bias"]))


def run(raw_data):
    weights, bias = model
    rows = np.asarray(json.loads(raw_data)["data"], dtype=float)
    return {"predictions": (rows @ weights + bias).tolist()}
