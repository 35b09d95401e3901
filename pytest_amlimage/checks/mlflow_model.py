"""The MLflow model of a no-code deployment, read before anything starts: what the platform builds and the
image's scoring script need of it. One line per problem, each with its file and line."""

from __future__ import annotations

import re
import warnings

import pytest
from packaging.version import InvalidVersion, Version

from pytest_amlimage.config.mlflow import MlflowModel
from pytest_amlimage.errors import CheckFailed

OLDEST_PYTHON = Version("3.9")
MONITORING = "azureml-ai-monitoring"
MONITORING_IMPORT = re.compile(r"^\s*(?:from|import)\s+azureml\.ai\.monitoring\b", re.MULTILINE)


def imports_monitoring(script: str | None) -> bool:
    """The image's scoring script imports azureml.ai.monitoring (unknown: assumed, as today's image does)."""
    return script is None or bool(MONITORING_IMPORT.search(script))


def _major(text: str) -> int | None:
    try:
        return Version(text.split("==", 1)[-1].strip()).major
    except InvalidVersion:
        return None


def _flavor(model: MlflowModel) -> list[str]:
    if "python_function" in model.flavors:
        return []
    line = model.lines.get("flavors", 1)
    return [
        f"{model.path / 'MLmodel'}:{line}: no python_function flavor (flavors: {', '.join(model.flavors) or 'none'}): "
        "the scoring script loads the model with mlflow.pyfunc; save it with a flavor that writes one"
    ]


def _environment(model: MlflowModel, imports_monitoring: bool) -> list[str]:
    """The conda file: a Python the server allows, the monitoring package, mlflow's major, no contrib."""
    conda = model.conda
    if conda is None:
        return [f"{model.path}: no conda.yaml: the platform makes the model's environment from it"]
    problems = []
    if model.python and Version(model.python[0]) < OLDEST_PYTHON:
        problems.append(
            f"{conda}:{model.python[1]}: python={model.python[0]}: azureml-inference-server-http 1.4.0 and "
            "later need 3.9, and the 1.3.x resolved instead crashes at start: save the model with Python 3.9 "
            "or later"
        )
    if imports_monitoring and model.requirement(MONITORING) is None:
        problems.append(
            f"{conda}: no {MONITORING}, but the image's scoring script imports azureml.ai.monitoring: the "
            f"server cannot start (liveness 502); add {MONITORING} to the conda file's pip list"
        )
    mlflow = model.requirement("mlflow", "mlflow-skinny")
    pinned, saved = (_major(mlflow.text) if mlflow else None), _major(model.mlflow_version or "")
    if mlflow and pinned is not None and saved is not None and pinned != saved:
        problems.append(
            f"{conda}:{mlflow.line}: {mlflow.text}, but the model was saved with mlflow "
            f"{model.mlflow_version} (MLmodel): a major apart, it may not load; pin mlflow=={saved}.*"
        )
    problems += [
        f"{conda}:{found.line}: {found.text}: the platform's image builder drops azureml-contrib-* packages; "
        "import what you need from azureml-inference-server-http instead"
        for found in model.requirements
        if found.name.startswith("azureml-contrib-")
    ]
    return problems


def mlflow_model(model: MlflowModel, imports_monitoring: bool) -> None:
    """The model has a pyfunc flavor, an environment the platform builds and the image's script can run."""
    problems = _flavor(model) + _environment(model, imports_monitoring)
    if (
        model.mlflow_version
        and model.requirement("mlflow", "mlflow-skinny") is None
        and model.conda
    ):
        problems.append(
            f"{model.conda}: no mlflow: the image's scoring script imports it; add mlflow"
        )
    if not model.has_signature and not model.example:
        warnings.warn(
            pytest.PytestWarning(
                f"mlflow-model: {model.path / 'MLmodel'}: no signature and no input example: the swagger has no "
                "input schema, and the scoring script passes the input on untyped; save the model with "
                "input_example="
            ),
            stacklevel=1,
        )
    if problems:
        raise CheckFailed("\n".join(problems))
