from pathlib import Path

from pytest_amlimage.deployment import Endpoint
from pytest_amlimage.imageinfo import ImageInfo
from pytest_amlimage.launch import plan_launch
from pytest_amlimage.layout import anonymous_name
from pytest_amlimage.session import AmlSession, ImageRun
from pytest_amlimage.settings import Settings


def test_images_without_an_entry_script_are_kept_alive_for_the_probe() -> None:
    plan = plan_launch(Settings(), "img:1", {})
    assert not plan.serves
    assert (plan.entrypoint, plan.command) == (["sleep"], ["infinity"])


def test_baked_in_entry_script_starts_the_images_own_command() -> None:
    plan = plan_launch(Settings(), "img:1", {"AZUREML_ENTRY_SCRIPT": "score.py"})
    assert plan.serves and plan.entrypoint is None and plan.command is None
    assert plan.mounts == {} and plan.environment == {}


def test_entry_script_and_model_are_mounted_as_an_online_deployment_does(tmp_path: Path) -> None:
    script = tmp_path / "code" / "score.py"
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("{}")
    settings = Settings(entry_script=script, model_dir=tmp_path / "model", port=8080)
    plan = plan_launch(settings, "img:1", {})
    assert plan.serves and plan.port == 5001  # the endpoint's routes, not --aml-port, once settings are loaded
    model_dir = f"/var/azureml-app/azureml-models/{anonymous_name(tmp_path / 'model')}/1"  # unnamed: its hash
    assert plan.mounts == {
        str(tmp_path / "code"): "/var/azureml-app/code",
        str(tmp_path / "model"): f"{model_dir}/model",
    }
    assert plan.environment == {
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "AML_APP_ROOT": "/var/azureml-app/code",
        "AZUREML_MODEL_DIR": model_dir,
    }


def test_a_deployments_code_folder_model_name_and_variables(tmp_path: Path) -> None:
    endpoint = Endpoint(
        code=tmp_path / "src",
        model_name="sklearn-model",
        model_version="3",
        environment={"WORKER_COUNT": "2"},
    )
    script = tmp_path / "src" / "onlinescoring" / "score.py"
    settings = Settings(entry_script=script, model_dir=tmp_path / "model" / "model.pkl", endpoint=endpoint)
    plan = plan_launch(settings, "img:1", {})
    assert plan.mounts == {
        str(tmp_path / "src"): "/var/azureml-app/src",
        str(tmp_path / "model" / "model.pkl"): "/var/azureml-app/azureml-models/sklearn-model/3/model.pkl",
    }
    assert plan.environment == {
        "WORKER_COUNT": "2",
        "AML_APP_ROOT": "/var/azureml-app/src/onlinescoring",
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "AZUREML_MODEL_DIR": "/var/azureml-app/azureml-models/sklearn-model/3",
    }


def test_command_override_replaces_entrypoint_and_command() -> None:
    plan = plan_launch(Settings(command=("azmlinfsrv", "--port", "5001")), "img:1", {})
    assert (plan.entrypoint, plan.command) == (["azmlinfsrv"], ["--port", "5001"])


def test_cpus_default_to_two_or_the_engines_if_fewer() -> None:
    assert plan_launch(Settings(), "img:1", {}, engine_cpus=16).cpus == 2.0
    assert plan_launch(Settings(), "img:1", {}, engine_cpus=1).cpus == 1.0
    assert plan_launch(Settings(cpus=0.5), "img:1", {}, engine_cpus=1).cpus == 0.5


def test_a_baseline_yields_the_cpu_to_the_image_under_test() -> None:
    session = AmlSession(Settings())
    try:
        candidate, baseline = ImageRun(session, "img:2", ImageInfo()), ImageRun(session, "img:1", ImageInfo())
        session.baseline = baseline
        assert candidate.plan.cpu_shares is None  # the engine's default weight, as on the endpoint
        assert baseline.plan.cpu_shares is not None and baseline.plan.cpu_shares < 1024
    finally:
        session.finish()
