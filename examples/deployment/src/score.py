"""Entry script: a linear model registered from the folder model/, read as $AZUREML_MODEL_DIR/model/."""

import json
import os

import numpy as np
from features import rows

model = None


def init():
    global model
    with open(os.path.join(os.environ["AZUREML_MODEL_DIR"], "model", "linear.json")) as handle:
        params = json.load(handle)
    model = (np.asarray(params["weights"]), float(params["bias"]))


def run(raw_data):
    weights, bias = model
    return {"predictions": (np.asarray(rows(json.loads(raw_data))) @ weights + bias).tolist()}
