"""Batch deployment YAMLs read as the platform reads them: told apart from online ones, both forms of their
settings with the platform's defaults, and what cannot run refused with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amlimage.config import batch, deployment, deployment_kinds
from pytest_amlimage.errors import AmlUsageError
from tests.unit.test_settings import settings

HERE = Path(__file__).parent / "deployments" / "batch"
MODEL_SCHEMA = (
    "$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"
)
SCRIPTED = """name: scorer
endpoint_name: scoring
type: model
model:
  path: model
code_configuration:
  code: code
  scoring_script: score.py
environment:
  image: amlimage/batch:latest
"""


def load(tmp_path: Path, text: str) -> deployment.Deployment:
    path = tmp_path / "deployment.yml"
    path.write_text(text)
    return deployment_kinds.load(path)


def test_the_classic_form_reads_its_top_level_settings() -> None:
    found = deployment_kinds.load(HERE / "classic.yml")
    assert found.kind == "batch deployment" and found.batch is not None
    settings = found.batch
    assert (settings.max_concurrency_per_instance, settings.mini_batch_size) == (2, 5)
    assert (settings.output_action, settings.error_threshold, settings.logging_level) == (
        "summary_only",
        3,
        "warning",
    )
    assert (settings.max_retries, settings.timeout) == (1, 12.0)
    assert settings.conda_file == (HERE / "conda.yaml").resolve()
    assert found.endpoint.environment == {"MODEL_KIND": "torch"}
    assert found.options["image"] == "amlimage/batch:latest"
    assert found.options["entry_script"] == str(Path("../src/score.py"))
    assert settings.where("timeout") == "line 23"


def test_the_settings_form_has_the_platforms_defaults(tmp_path: Path) -> None:
    found = load(tmp_path, MODEL_SCHEMA + SCRIPTED + "settings:\n  mini_batch_size: 3\n")
    assert found.batch == batch.BatchSettings(mini_batch_size=3, lines=found.batch.lines)
    assert found.batch.where("timeout") == "the platform's default"
    assert "instance_type" not in found.options


@pytest.mark.parametrize(
    "text",
    [
        MODEL_SCHEMA + SCRIPTED,
        SCRIPTED + "settings:\n  output_action: append_row\n",
        SCRIPTED + "mini_batch_size: 4\n",
    ],
    ids=["schema", "settings", "classic"],
)
def test_a_batch_deployment_is_told_apart(tmp_path: Path, text: str) -> None:
    assert load(tmp_path, text).kind == "batch deployment"


def test_an_online_deployment_is_not_a_batch_one(tmp_path: Path) -> None:
    online = load(
        tmp_path, "instance_type: Standard_DS3_v2\n" + SCRIPTED.replace("type: model\n", "")
    )
    assert online.batch is None and online.kind == "deployment"


@pytest.mark.parametrize(
    ("settings", "said"),
    [
        (
            "  output_action: append_rows\n",
            ":13 (from --aml-deployment): settings.output_action is 'append_rows'",
        ),
        (
            "  mini_batch_size: 0\n",
            "settings.mini_batch_size is 0, not a whole number of at least 1",
        ),
        (
            "  error_threshold: -2\n",
            "settings.error_threshold is -2, not a whole number of at least -1",
        ),
        ("  retry_settings:\n    timeout: -1\n", "settings.retry_settings.timeout is -1"),
        ("  logging_level: loud\n", "settings.logging_level is 'loud'"),
    ],
)
def test_bad_settings_are_refused_with_their_line(tmp_path: Path, settings: str, said: str) -> None:
    with pytest.raises(AmlUsageError, match="fix the deployment YAML") as refused:
        load(tmp_path, MODEL_SCHEMA + SCRIPTED + "settings:\n" + settings)
    assert said in str(refused.value)


def test_a_deployment_with_nothing_to_run_is_refused(tmp_path: Path) -> None:
    text = MODEL_SCHEMA + "name: scorer\nmodel:\n  path: model\nenvironment:\n  image: x\n"
    with pytest.raises(AmlUsageError, match="a batch deployment runs a scoring script"):
        load(tmp_path, text)


def test_a_pipeline_deployment_is_refused(tmp_path: Path) -> None:
    schema = "$schema: https://azuremlschemas.azureedge.net/latest/pipelineComponentBatchDeployment.schema.json\n"
    with pytest.raises(AmlUsageError, match="runs a pipeline, not a scoring script"):
        load(tmp_path, schema + "name: p\ntype: pipeline\ncomponent: azureml:c@latest\n")


def test_an_mlflow_model_without_code_is_scored_by_the_platform(tmp_path: Path) -> None:
    text = MODEL_SCHEMA + "name: scorer\nmodel:\n  path: model\n  type: mlflow_model\n"
    found = load(tmp_path, text + "settings:\n  mini_batch_size: 1\n")
    assert found.options["mlflow_model"] == "model" and "entry_script" not in found.options


@pytest.fixture(autouse=True)
def _in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # command-line paths are relative to the current folder


def batch_yaml(tmp_path: Path) -> Path:
    path = tmp_path / "deployment.yml"
    path.write_text(MODEL_SCHEMA + SCRIPTED)
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "score.py").write_text("def init(): pass\n")
    (tmp_path / "model").mkdir()
    return path


def test_the_input_is_read_with_the_deployment(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    found = settings(tmp_path, {"deployment": str(batch_yaml(tmp_path)), "batch_input": "data"})
    assert found.batch is not None and found.batch_input == (tmp_path / "data").resolve()


@pytest.mark.parametrize(
    ("cli", "said"),
    [
        ({}, "is a batch deployment: give the files it scores with --aml-batch-input=PATH"),
        ({"batch_input": "empty"}, "holds no files to score (nested folders are not read"),
        ({"batch_input": "missing"}, "missing"),
        (
            {"batch_input": "data", "sample": ["data"]},
            "--aml-sample (from --aml-sample) is for online deployments",
        ),
        (
            {"batch_input": "data", "ready_timeout": "60"},
            "--aml-ready-timeout (from --aml-ready-timeout) is for online deployments",
        ),
    ],
)
def test_bad_batch_input_is_one_line(tmp_path: Path, cli: dict[str, object], said: str) -> None:
    (tmp_path / "empty" / "nested").mkdir(parents=True)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.csv").write_text("x\n1\n")
    with pytest.raises(AmlUsageError) as refused:
        settings(tmp_path, {"deployment": str(batch_yaml(tmp_path)), **cli})
    assert said in str(refused.value) and "\n" not in str(refused.value)


def test_a_batch_input_without_a_batch_deployment_is_refused(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    with pytest.raises(AmlUsageError, match="--aml-batch-input .* is for a batch deployment"):
        settings(tmp_path, {"image": ["amlimage/minimal:latest"], "batch_input": "data"})
