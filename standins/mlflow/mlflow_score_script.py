"""The curated MLflow image's scoring script, written again with the real one's behaviour (Azure/azureml-assets
mlflow-py312-inference/context/mlflow_score_script.py): the model is found and loaded at import, from
AZUREML_MODEL_DIR and MLFLOW_MODEL_FOLDER (so GET / answers only after the load); the input's schema comes
from the model's input example, else its signature, else none (the input then passes through untyped);
init() creates the monitoring collectors; run(input_data, params=None) answers a list of records.
"""

import inspect
import json
import logging
import os

import numpy as np
import pandas as pd
from azureml.ai.monitoring import Collector
from inference_schema.parameter_types.abstract_parameter_type import AbstractParameterType
from inference_schema.parameter_types.numpy_parameter_type import NumpyParameterType
from inference_schema.parameter_types.pandas_parameter_type import PandasParameterType
from inference_schema.parameter_types.standard_py_parameter_type import StandardPythonParameterType
from inference_schema.schema_decorators import input_schema, output_schema
from mlflow.models import Model
from mlflow.pyfunc import load_model
from mlflow.pyfunc.scoring_server import _get_jsonable_obj

_logger = logging.getLogger(__name__)


class Untyped(AbstractParameterType):
    """No sample to type the input with: it is passed on as it came."""

    def __init__(self):
        super().__init__(None)

    def deserialize_input(self, input_data):
        return input_data

    def input_to_swagger(self):
        return {"type": "object", "example": {}}


model_path = os.path.join(os.environ["AZUREML_MODEL_DIR"], os.environ["MLFLOW_MODEL_FOLDER"])
described = Model.load(model_path)


def _example():
    """The model's saved input example, as the request's input_data takes it (a DataFrame in split form)."""
    info = described.saved_input_example_info
    if not info:
        return None
    with open(os.path.join(model_path, info["artifact_path"])) as handle:
        loaded = json.load(handle)
    if info.get("type") == "ndarray":
        inputs = loaded["inputs"]
        return {k: np.asarray(v) for k, v in inputs.items()} if isinstance(inputs, dict) else np.asarray(inputs)
    orient = "split" if "columns" in loaded else "values"
    return pd.read_json(json.dumps(loaded), orient=orient, dtype=False)


def _from_signature():
    signature = described.signature
    if signature is None or signature.inputs is None:
        _logger.warning("No signature information provided for model: the swagger has no input schema.")
        return None
    if signature.inputs.is_tensor_spec():
        spec = signature.inputs.inputs[0]
        shape = [1 if size == -1 else size for size in (spec.shape or (1,))]
        return np.zeros(shape, dtype=spec.type)
    names, types = signature.inputs.input_names(), signature.inputs.pandas_types()
    return pd.DataFrame(columns=names).astype(dict(zip(names, types)))


try:
    sample = _example()
except Exception as error:  # as the real script: a broken example falls back to the signature
    _logger.warning("Failure processing model sample input: %s", error)
    sample = None
if sample is None:
    sample = _from_signature()

if isinstance(sample, pd.DataFrame):
    input_param = PandasParameterType(sample, enforce_shape=False, orient="split")
elif isinstance(sample, np.ndarray):
    input_param = NumpyParameterType(sample, enforce_shape=False)
elif isinstance(sample, dict):
    input_param = StandardPythonParameterType({k: NumpyParameterType(v, enforce_shape=False) for k, v in sample.items()})
else:
    input_param = Untyped()

_logger.info("loading model from model path: %s", model_path)
model = load_model(model_path)
inputs_collector = outputs_collector = None


def init():
    global inputs_collector, outputs_collector
    if os.getenv("ENABLE_MDC"):
        inputs_collector = Collector(name="model_inputs")
        outputs_collector = Collector(name="model_outputs")


def _untyped(input_data):
    """An input no schema typed: JSON text, a list (a tensor), a DataFrame in split form, or named tensors."""
    if isinstance(input_data, str):
        input_data = json.loads(input_data)
    if isinstance(input_data, dict) and "input_data" in input_data:
        input_data = input_data["input_data"]
    if isinstance(input_data, list):
        return np.asarray(input_data)
    if isinstance(input_data, dict) and {"columns", "index", "data"} <= set(input_data):
        return pd.read_json(json.dumps(input_data), orient="split", dtype=False)
    return {name: np.asarray(value) for name, value in input_data.items()}


@input_schema("input_data", input_param)
@input_schema("params", StandardPythonParameterType({}), optional=True)
@output_schema(Untyped())
def run(input_data, params=None):
    typed = isinstance(input_data, (np.ndarray, pd.DataFrame)) or (
        isinstance(input_data, dict) and input_data and isinstance(next(iter(input_data.values())), np.ndarray)
    )
    data = input_data if typed else _untyped(input_data)
    context = inputs_collector.collect(data) if inputs_collector else None
    if params and "params" in inspect.signature(model.predict).parameters:
        result = model.predict(data, params=params)
    else:
        result = model.predict(data)
    if outputs_collector:
        outputs_collector.collect(pd.DataFrame(result), context)
    return _get_jsonable_obj(result, pandas_orient="records")
