"""Score each CSV file of a mini-batch with a small logistic model; one row per file."""

import argparse
import json
import math
import os
from pathlib import Path

import pandas as pd


def init():
    global weights
    # the platform's driver passes arguments of its own: parse_known_args leaves them be
    parser = argparse.ArgumentParser()
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.parse_known_args()
    with open(Path(os.environ["AZUREML_MODEL_DIR"]) / "model" / "weights.json") as model:
        weights = json.load(model)


def run(mini_batch):
    results = []
    for path in mini_batch:
        data = pd.read_csv(path)
        score = weights["intercept"] + sum(
            data[column] * weight for column, weight in weights["coefficients"].items()
        )
        probability = 1 / (1 + (-score).apply(math.exp))
        results.append(
            {"file": Path(path).name, "rows": len(data), "mean_probability": round(float(probability.mean()), 4)}
        )
    return pd.DataFrame(results)
