"""An MLflow model as a no-code deployment reads it, and the static check of it (file and line per problem)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from pytest_amlimage.checks.mlflow_model import mlflow_model
from pytest_amlimage.config.mlflow import UnusableExample, read
from pytest_amlimage.errors import CheckFailed

MODELS = Path(__file__).resolve().parents[1] / "integration" / "mlflow_models"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A copy of the test model, to change."""
    return Path(shutil.copytree(MODELS / "sklearn", tmp_path / "model"))


def failure(path: Path, monitoring: bool = True) -> str:
    with pytest.raises(CheckFailed) as failed:
        mlflow_model(read(path), monitoring)
    return str(failed.value)


def test_the_model_is_read_as_the_platform_reads_it(model: Path) -> None:
    found = read(model)
    assert found.folder == "model" and "python_function" in found.flavors
    assert found.mlflow_version == "3.18.0" and found.python == ("3.11.2", 4)
    assert found.requirement("mlflow", "mlflow-skinny") is not None
    assert json.loads(found.example_request()) == {
        "input_data": {"columns": ["x1", "x2"], "data": [[1.0, 0.5], [2.0, 1.0]], "index": [0, 1]}
    }


def test_mlflow_3s_bare_ndarray_example_is_sent_as_the_tensor_the_signature_types() -> None:
    """MLflow 3 writes an array's example as a bare list; the curated script then types the input by the
    tensor signature and takes {"input_data": [[...]]}."""
    found = read(MODELS / "ndarray")
    assert json.loads(found.example_request()) == {"input_data": [[1.0, 2.0], [2.0, 1.0]]}


SPLIT = {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}
SPLIT_SENT = {"columns": ["a", "b"], "index": [0, 1], "data": [[1, 2], [3, 4]]}
LAYOUTS = {  # MLmodel's saved_input_example_info, the file MLflow wrote -> the request the endpoint takes
    "dataframe split": ({"type": "dataframe", "pandas_orient": "split"}, SPLIT, SPLIT_SENT),
    "dataframe records": (
        {"type": "dataframe", "pandas_orient": "records"},
        [{"a": 1, "b": 2}, {"a": 3, "b": 4}],
        SPLIT_SENT,
    ),
    "dataframe values": (
        {"type": "dataframe", "pandas_orient": "values"},
        [[1, 2], [3, 4]],
        {"columns": [0, 1], "index": [0, 1], "data": [[1, 2], [3, 4]]},
    ),
    "ndarray bare (MLflow 3)": ({"type": "ndarray"}, [[1.0, 2.0]], [[1.0, 2.0]]),
    "ndarray under inputs (MLflow 2)": (
        {"type": "ndarray", "format": "tf-serving"},
        {"inputs": [[1.0, 2.0]]},
        [[1.0, 2.0]],
    ),
    "named tensors (MLflow 3)": (
        {"type": "ndarray"},
        {"x": [1, 2], "y": [3]},
        {"x": [1, 2], "y": [3]},
    ),
    "named tensors under inputs (MLflow 2)": (
        {"type": "ndarray", "format": "tf-serving"},
        {"inputs": {"x": [1, 2], "y": [3]}},
        {"x": [1, 2], "y": [3]},
    ),
    "json_object dict": ({"type": "json_object"}, {"prompt": "hi"}, {"prompt": "hi"}),
    "json_object list": ({"type": "json_object"}, ["one", "two"], ["one", "two"]),
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_every_example_layout_is_sent_in_the_endpoints_own_format(model: Path, layout: str) -> None:
    info, written, sent = LAYOUTS[layout]
    (model / "input_example.json").write_text(json.dumps(written))
    described = (model / "MLmodel").read_text().split("saved_input_example_info:")[0]
    entries = "".join(f"  {key}: {value}\n" for key, value in info.items())
    (model / "MLmodel").write_text(
        f"{described}saved_input_example_info:\n  artifact_path: input_example.json\n{entries}"
    )
    assert json.loads(read(model).example_request()) == {"input_data": sent}


def test_an_example_with_params_sends_them_beside_the_input(model: Path) -> None:
    (model / "input_example.json").write_text(json.dumps({"inputs": SPLIT, "params": {"k": 2}}))
    text = (
        (model / "MLmodel")
        .read_text()
        .replace("  type: dataframe", "  type: dataframe\n  params: 'true'")
    )
    (model / "MLmodel").write_text(text)
    assert json.loads(read(model).example_request()) == {
        "input_data": SPLIT_SENT,
        "params": {"k": 2},
    }


@pytest.mark.parametrize(
    ("kind", "written", "reason"),
    [
        (
            "sparse_matrix_csr",
            {"data": [1], "indices": [0], "indptr": [0, 1], "shape": [1, 1]},
            "sparse",
        ),
        ("dataframe", "text", "not a table"),
        ("ndarray", "text", "not an array"),
        ("a_new_type", [1], "a_new_type"),
        ("dataframe", None, "cannot be read as JSON"),
        ("dataframe", "missing", "No such file"),
    ],
)
def test_an_example_the_plugin_cannot_use_is_a_reason_never_a_crash(
    model: Path, kind: str, written: object, reason: str
) -> None:
    example = model / "input_example.json"
    if written == "missing":
        example.unlink()
    else:
        example.write_text("{not json" if written is None else json.dumps(written))
    (model / "MLmodel").write_text(
        (model / "MLmodel").read_text().replace("type: dataframe", f"type: {kind}")
    )
    with pytest.raises(UnusableExample, match=reason) as unusable:
        read(model).example_request()
    assert str(unusable.value).startswith("the model's input example")


def test_a_good_model_passes_in_silence(model: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mlflow_model(read(model), True)


def test_a_model_without_the_monitoring_package_fails_when_the_script_imports_it() -> None:
    path = MODELS / "no_monitoring"
    assert failure(path) == (
        f"{path / 'conda.yaml'}: no azureml-ai-monitoring, but the image's scoring script imports "
        "azureml.ai.monitoring: the server cannot start (liveness 502); add azureml-ai-monitoring to the "
        "conda file's pip list"
    )
    mlflow_model(read(path), imports_monitoring=False)


def test_old_python_mlflow_a_major_apart_and_contrib_each_name_their_line(model: Path) -> None:
    conda = model / "conda.yaml"
    text = (
        conda.read_text()
        .replace("python=3.11.2", "python=3.8.18")
        .replace(
            "mlflow-skinny==3.18.0", "mlflow-skinny==2.22.0\n  - azureml-contrib-services==1.0"
        )
    )
    conda.write_text(text)
    lines = failure(model).splitlines()
    assert lines[0].startswith(f"{conda}:4: python=3.8.18: azureml-inference-server-http 1.4.0")
    assert lines[1].startswith(
        f"{conda}:7: mlflow-skinny==2.22.0, but the model was saved with mlflow 3.18.0"
    )
    assert lines[2].startswith(
        f"{conda}:8: azureml-contrib-services==1.0: the platform's image builder drops"
    )


def test_no_pyfunc_flavor_fails_and_no_signature_or_example_warns(model: Path) -> None:
    text = (model / "MLmodel").read_text()
    (model / "MLmodel").write_text(text.replace("python_function:", "onnx_only:"))
    assert "MLmodel:1: no python_function flavor (flavors: onnx_only, sklearn)" in failure(model)
    (model / "MLmodel").write_text(
        text.split("saved_input_example_info:")[0] + "type_hint_from_example: false\n"
    )
    with pytest.warns(pytest.PytestWarning, match="no signature and no input example"):
        mlflow_model(read(model), True)
