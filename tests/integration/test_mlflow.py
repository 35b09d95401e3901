"""MLflow models on the curated MLflow image (stand-in ``mlflow``), served as a no-code deployment is: the
model's environment made from its conda.yaml by the image's own conda, the image's own scoring script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import expect, green

pytestmark = pytest.mark.engine
MODELS = Path(__file__).resolve().parent / "mlflow_models"
SERVING = ["liveness", "probe-budget", "bad-request", "swagger", "stable"]


def no_code(pytester: pytest.Pytester, image: str, model: str) -> str:
    """``--aml-deployment`` for a YAML with an MLflow model and no code_configuration, without outbound access."""
    pytester.makefile(
        ".yml",
        deployment=f"environment:\n  image: {image}\nmodel:\n  name: regression\n  version: 3\n"
        f"  type: mlflow_model\n  path: {MODELS / model}\ninstance_type: Standard_DS2_v2\n"
        "egress_public_network_access: disabled\n",
    )
    return f"--aml-deployment={pytester.path / 'deployment.yml'}"


def test_a_good_model_is_green_and_its_input_example_scores(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = run_plugin(no_code(pytester, images["mlflow"], "sklearn"))
    green(
        result, "mlflow-model", "pip-check", *SERVING, "score[input_example]", "memory", "offline"
    )


def test_an_mlflow_3_model_with_a_numpy_example_scores_it_as_a_tensor(
    run_plugin: Any, images: dict[str, str]
) -> None:
    """MLflow 3 writes an array's example as a bare list: the image's script types the input by the
    signature, and the example is sent as {"input_data": [[...]]} (a split frame would get a 500)."""
    model = f"--aml-mlflow-model={MODELS / 'ndarray'}"
    result = run_plugin("--aml-image", images["mlflow"], model, "-k", "score or liveness or mlflow")
    expect(result, passed=["mlflow-model", "liveness", "score[input_example]"])


def test_a_model_without_the_monitoring_package_fails_liveness_with_the_missing_module(
    run_plugin: Any, images: dict[str, str]
) -> None:
    model = MODELS / "no_monitoring"
    result = run_plugin("--aml-image", images["mlflow"], f"--aml-mlflow-model={model}")
    expect(result, failed=["mlflow-model", "liveness"], skipped=["probe-budget", "stable"])
    result.stdout.fnmatch_lines_random(
        [
            f"*mlflow-model: {model / 'conda.yaml'}: no azureml-ai-monitoring, but the image's scoring script "
            "imports azureml.ai.monitoring*",
            "*liveness: importing the entry script failed: ModuleNotFoundError: No module named 'azureml'*",
        ]
    )


def test_a_sample_in_mlflows_own_format_is_told_the_endpoints(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    (pytester.path / "split.json").write_text(
        '{"dataframe_split": {"columns": ["x1", "x2"], "data": [[1, 2]]}}'
    )
    result = run_plugin(
        "--aml-image",
        images["mlflow"],
        f"--aml-mlflow-model={MODELS / 'sklearn'}",
        "--aml-sample=split.json",
    )
    expect(result, failed=["score[split]"], passed=["score[input_example]"])
    result.stdout.fnmatch_lines(
        [
            "*score?split?: split.json is in MLflow's own 'dataframe_split' format, but the endpoint takes*"
        ]
    )


def test_a_bare_mlflow_image_is_not_red(run_plugin: Any, images: dict[str, str]) -> None:
    """With no model, the image-level checks run and the serving checks say what the image needs."""
    result = run_plugin("--aml-image", images["mlflow"], "-rs")
    green(result, "non-root", "app-permissions", "platform", "pip-check")
    expect(result, skipped=SERVING)
    result.stdout.fnmatch_lines(
        ["SKIPPED * this image serves MLflow models with its own mlflow_score_script.py*"]
    )


def test_a_curated_image_upgrade_is_compared_model_for_model(
    run_plugin: Any, images: dict[str, str]
) -> None:
    """The baseline image gets the model's environment too: both answer the input example alike."""
    result = run_plugin(
        "--aml-image",
        images["mlflow"],
        f"--aml-baseline={images['mlflow']}",
        f"--aml-mlflow-model={MODELS / 'sklearn'}",
        "-k",
        "parity or liveness",
    )
    expect(result, passed=["liveness", "baseline[parity-input_example]"])
