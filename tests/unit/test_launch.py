from pathlib import Path

from pytest_amlimage.config.deployment import Endpoint
from pytest_amlimage.config.layout import anonymous_name
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.probe import SERVER_CWD, SERVER_PROGRAM
from pytest_amlimage.run.launch import plan_launch
from pytest_amlimage.run.session import AmlSession


def test_images_without_an_entry_script_are_kept_alive_for_the_probe() -> None:
    plan = plan_launch(Settings(), "img:1", ImageInfo())
    assert not plan.serves
    assert (plan.entrypoint, plan.command) == (["sleep"], ["infinity"])


def test_baked_in_entry_script_starts_the_images_own_command() -> None:
    plan = plan_launch(Settings(), "img:1", ImageInfo(env={"AZUREML_ENTRY_SCRIPT": "score.py"}))
    assert plan.serves and plan.entrypoint is None and plan.command is None
    assert plan.mounts == {} and plan.environment == {}


def test_entry_script_and_model_are_mounted_as_an_online_deployment_does(tmp_path: Path) -> None:
    script = tmp_path / "code" / "score.py"
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "weights.json").write_text("{}")
    settings = Settings(entry_script=script, model_dir=tmp_path / "model")
    plan = plan_launch(settings, "img:1", ImageInfo())
    assert plan.serves and plan.port == 5001  # the endpoint's scoring route
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
    settings = Settings(
        entry_script=script, model_dir=tmp_path / "model" / "model.pkl", endpoint=endpoint
    )
    plan = plan_launch(settings, "img:1", ImageInfo())
    assert plan.mounts == {
        str(tmp_path / "src"): "/var/azureml-app/src",
        str(
            tmp_path / "model" / "model.pkl"
        ): "/var/azureml-app/azureml-models/sklearn-model/3/model.pkl",
    }
    assert plan.environment == {
        "WORKER_COUNT": "2",
        "AML_APP_ROOT": "/var/azureml-app/src/onlinescoring",
        "AZUREML_ENTRY_SCRIPT": "score.py",
        "AZUREML_MODEL_DIR": "/var/azureml-app/azureml-models/sklearn-model/3",
    }


def test_command_override_replaces_entrypoint_and_command() -> None:
    plan = plan_launch(Settings(command=("azmlinfsrv", "--port", "5001")), "img:1", ImageInfo())
    assert (plan.entrypoint, plan.command) == (["azmlinfsrv"], ["--port", "5001"])


def test_cpus_default_to_two_or_the_engines_if_fewer() -> None:
    assert plan_launch(Settings(), "img:1", ImageInfo(), engine_cpus=16).cpus == 2.0
    assert plan_launch(Settings(), "img:1", ImageInfo(), engine_cpus=1).cpus == 1.0
    assert plan_launch(Settings(cpus=0.5), "img:1", ImageInfo(), engine_cpus=1).cpus == 0.5


def test_a_baseline_yields_the_cpu_to_the_image_under_test() -> None:
    session = AmlSession(Settings())
    try:
        candidate = session._image_run("img:2", ImageInfo())
        baseline = session._image_run("img:1", ImageInfo(), baseline=True)
        assert candidate.plan.cpu_shares is None  # the engine's default weight, as on the endpoint
        assert baseline.plan.cpu_shares is not None and baseline.plan.cpu_shares < 1024
    finally:
        session.finish()


def test_a_catalog_image_that_serves_itself_is_started_with_its_own_command_and_probed() -> None:
    runit = ImageInfo(cmd=("runsvdir", "/var/runit"))
    row, plain = AmlSession(Settings(curated="foundation-model-inference")), AmlSession(Settings())
    try:
        image = row._image_run("fm:1", runit)
        assert image.plan.serves and (image.plan.entrypoint, image.plan.command) == (None, None)
        # without the row, nothing says it serves
        assert not plain._image_run("fm:1", runit).plan.serves
    finally:
        row.finish()
        plain.finish()


def test_an_image_whose_own_command_runs_azmlinfsrv_with_a_script_serves_and_the_probe_reads_that_script() -> (
    None
):
    info = ImageInfo(cmd=("azmlinfsrv", "--entry_script", "src/score.py"), working_dir="/app")
    plan = plan_launch(Settings(), "img:1", info)
    # its own command, untouched
    assert plan.serves and plan.entrypoint is None and plan.command is None
    assert plan.probe_environment == {
        "AZUREML_ENTRY_SCRIPT": "/app/src/score.py",
        "AML_APP_ROOT": "/app",
        SERVER_CWD: "/app",
    }


def test_a_shell_form_command_is_split_as_the_shell_would_and_a_set_app_root_is_kept() -> None:
    info = ImageInfo(
        entrypoint=("/bin/bash", "-ec"),
        cmd=(
            "exec /opt/venv/bin/azmlinfsrv --entry_script=score.py --model_dir models --port 5001",
        ),
        env={"AML_APP_ROOT": "/srv"},
    )
    found = plan_launch(Settings(), "img:1", info).probe_environment
    assert found == {
        "AZUREML_ENTRY_SCRIPT": "/score.py",
        SERVER_CWD: "/",
        "AZUREML_MODEL_DIR": "/models",
        SERVER_PROGRAM: "/opt/venv/bin/azmlinfsrv",  # the probe reads the python that one runs with
    }


def test_the_server_run_as_a_module_is_recognised_and_its_python_probed() -> None:
    module = ("-m", "azureml_inference_server_http", "--entry_script", "/s.py")
    info = ImageInfo(cmd=("/opt/env/bin/python3", "-u", *module))  # the python, not its option
    found = plan_launch(Settings(), "img:1", info).probe_environment
    assert (
        found["AZUREML_ENTRY_SCRIPT"] == "/s.py" and found[SERVER_PROGRAM] == "/opt/env/bin/python3"
    )
    # the PATH's azmlinfsrv: the launcher finds it
    on_path = ImageInfo(cmd=("azmlinfsrv", "--config_file", "c.json"))
    assert plan_launch(Settings(), "img:1", on_path).probe_environment == {}


def test_a_command_without_azmlinfsrv_or_a_script_does_not_serve_on_its_own() -> None:
    for cmd in (
        ("python", "app.py", "--entry_script", "x.py"),
        ("azmlinfsrv", "--port", "5001"),
        ("runsvdir",),
    ):
        plan = plan_launch(Settings(), "img:1", ImageInfo(cmd=cmd))
        assert not plan.serves and plan.probe_environment == {}, cmd


def test_a_server_on_another_port_than_the_probed_one_is_unreachable_before_it_starts() -> None:
    moved = ImageInfo(cmd=("azmlinfsrv", "--entry_script", "s.py", "--port", "8080"))
    assert "runs azmlinfsrv on port 8080, but the endpoint probes and scores on 5001" in str(
        plan_launch(Settings(), "img:1", moved).unreachable
    )
    declared = Settings(endpoint=Endpoint.on_port(8080))  # inference_config's port, or --aml-port
    assert plan_launch(declared, "img:1", moved).unreachable is None
    assert (
        plan_launch(
            Settings(), "img:1", ImageInfo(cmd=("azmlinfsrv", "--entry_script", "s.py"))
        ).unreachable
        is None
    )


def test_runit_is_the_start_command_not_the_keep_alive() -> None:
    # kept alive here
    assert plan_launch(Settings(), "img:1", ImageInfo(cmd=("runsvdir", "/var/runit"))).runit
    assert not plan_launch(
        Settings(), "img:1", ImageInfo(cmd=("azmlinfsrv", "--entry_script", "s.py"))
    ).runit
    assert not plan_launch(
        Settings(command=("azmlinfsrv",)), "img:1", ImageInfo(cmd=("runsvdir",))
    ).runit


def test_a_custom_container_runs_its_own_server_without_an_entry_script() -> None:
    plan = plan_launch(
        Settings(endpoint=Endpoint(custom_container=True)), "img:1", ImageInfo(cmd=("torchserve",))
    )
    assert plan.serves and plan.command is None and plan.probe_environment == {}


def test_variables_in_a_shell_command_are_read_from_the_images_environment() -> None:
    shell = ("/bin/sh", "-c", "exec azmlinfsrv --entry_script ${APP}/score.py --model_dir $MODELS")
    info = ImageInfo(cmd=shell, env={"APP": "/srv", "MODELS": "/models", "AML_APP_ROOT": "/srv"})
    found = plan_launch(Settings(), "img:1", info).probe_environment
    assert found == {
        "AZUREML_ENTRY_SCRIPT": "/srv/score.py",
        SERVER_CWD: "/",
        "AZUREML_MODEL_DIR": "/models",
    }
    unknown = plan_launch(
        Settings(), "img:1", ImageInfo(cmd=("sh", "-c", "azmlinfsrv --entry_script $SET_LATER"))
    )
    # served; the script is read where the server says
    assert unknown.serves and unknown.probe_environment == {}
    assert plan_launch(
        Settings(), "img:1", ImageInfo(cmd=("azmlinfsrv", "--config_file", "c.json"))
    ).serves


def test_an_instance_types_cpus_are_capped_at_the_engines() -> None:
    from pytest_amlimage.config.instance_types import find

    large = Settings(instance=find("Standard_F8s_v2"))
    assert plan_launch(large, "img:1", ImageInfo(), engine_cpus=2.0).cpus == 2.0
    small = Settings(instance=find("Standard_DS1_v2"))
    assert plan_launch(small, "img:1", ImageInfo(), engine_cpus=2.0).cpus == 1.0
    # as given
    assert plan_launch(Settings(cpus=4.0), "img:1", ImageInfo(), engine_cpus=2.0).cpus == 4.0


MLFLOW_IMAGE = ImageInfo(
    env={"AML_APP_ROOT": "/var/mlflow_resources", "AZUREML_ENTRY_SCRIPT": "mlflow_score_script.py"}
)


def test_an_mlflow_model_is_mounted_below_the_model_dir_and_named_by_mlflow_model_folder(
    tmp_path: Path,
) -> None:
    model = tmp_path / "my_model"
    model.mkdir()
    plan = plan_launch(Settings(mlflow_model=model), "mlflow:1", MLFLOW_IMAGE)
    directory = f"/var/azureml-app/azureml-models/{anonymous_name(model)}/1"
    assert plan.serves and plan.mounts == {str(model): f"{directory}/my_model"}
    assert plan.environment == {"AZUREML_MODEL_DIR": directory, "MLFLOW_MODEL_FOLDER": "my_model"}


def test_a_bare_mlflow_image_is_kept_alive_and_says_it_needs_a_model() -> None:
    plan = plan_launch(Settings(), "mlflow:1", MLFLOW_IMAGE)
    assert not plan.serves and plan.idle is not None and "--aml-mlflow-model DIR" in plan.idle
