"""An MLflow model as a no-code deployment reads it, and the static check of it (file and line per problem)."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

from pytest_amlimage.checks.mlflow_model import mlflow_model
from pytest_amlimage.config.mlflow import read
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
    assert json.loads(found.example_body() or b"") == {
        "input_data": {"columns": ["x1", "x2"], "data": [[1.0, 0.5], [2.0, 1.0]], "index": [0, 1]}
    }


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
