"""Parity with the platform's own code: azure-ai-ml reads each deployment YAML, and lays out its local endpoint,
as we do. azure-ai-ml is a test-only dependency (about 140 MB and 2 s of import)."""

from __future__ import annotations

import posixpath
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pytest_amlimage.config import deployment, deployment_kinds
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.run.launch import platform_layout


def azure_ml() -> Any:
    """azure-ai-ml, imported by the tests that use it (2 s of import: never at collection)."""
    with warnings.catch_warnings():  # the SDK's schemas warn of marshmallow 4 as they are defined
        warnings.simplefilter("ignore")
        import azure.ai.ml
        import azure.ai.ml._local_endpoints.azureml_image_context
    return azure.ai.ml


pytestmark = pytest.mark.filterwarnings(
    "ignore:.*:DeprecationWarning",
    "ignore::marshmallow.warnings.Marshmallow4Warning",
    "ignore:This class is intended as a base class:UserWarning",
)
ROOT = Path(__file__).resolve().parents[2]
# an MLflow model without code is left out: the SDK's local endpoint cannot run a no-code deployment
# ("For MLflow no-code-deployment, testing via local endpoints is currently not supported")
YAMLS = [
    path
    for path in sorted((ROOT / "examples").rglob("deployment.yml"))
    + sorted((Path(__file__).parent / "deployments").glob("*.yml"))
    if "mlflow_model" not in path.read_text() and deployment_kinds.load(path).batch is None
]
BATCH_YAMLS = [
    path
    for path in sorted((ROOT / "examples").rglob("deployment.yml"))
    + sorted((Path(__file__).parent / "deployments" / "batch").glob("*.yml"))
    if deployment_kinds.load(path).batch is not None
]


def ours_and_theirs(path: Path) -> tuple[deployment.Deployment, Any]:
    return deployment_kinds.load(path), azure_ml().load_online_deployment(str(path))


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_yaml_reads_as_the_sdk_reads_it(path: Path) -> None:
    ours, theirs = ours_and_theirs(path)
    endpoint, environment, base = ours.endpoint, theirs.environment, path.parent
    assert ours.options.get("image") == environment.image
    if environment.build is not None:
        assert (base / ours.options["build"]).resolve() == (
            base / environment.build.path / (environment.build.dockerfile_path or "Dockerfile")
        ).resolve()
    code = theirs.code_configuration
    assert ("entry_script" in ours.options) == (code is not None)
    if code is not None:
        assert (base / ours.options["entry_script"]).resolve() == (
            base / code.code / code.scoring_script
        ).resolve()
    assert (base / ours.options["model_dir"]).resolve() == Path(theirs.model.path).resolve()
    assert endpoint.environment == {
        k: str(v) for k, v in (theirs.environment_variables or {}).items()
    }
    assert endpoint.instance_type == theirs.instance_type
    assert endpoint.model_mount_path == getattr(theirs, "model_mount_path", None)
    if theirs.request_settings is not None:
        assert endpoint.request_timeout_ms == theirs.request_settings.request_timeout_ms
        assert (
            endpoint.max_concurrent_requests
            == theirs.request_settings.max_concurrent_requests_per_instance
        )
    for name in ("liveness_probe", "readiness_probe"):
        probe = getattr(theirs, name)
        if probe is not None:
            assert (
                getattr(endpoint, name).budget
                == probe.initial_delay + probe.period * probe.failure_threshold
            )
            assert getattr(endpoint, name).timeout == probe.timeout
    if environment.inference_config is not None:
        for name in ("liveness_route", "readiness_route", "scoring_route"):
            route = getattr(environment.inference_config, name)
            assert getattr(endpoint, name) == deployment.Route(route.path, route.port)


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_the_container_layout_is_the_local_endpoints(path: Path) -> None:
    ours, theirs = ours_and_theirs(path)
    code, model = theirs.code_configuration, Path(theirs.model.path)
    context = azure_ml()._local_endpoints.azureml_image_context.AzureMlImageContext(
        endpoint_name="e",
        deployment_name="d",
        yaml_code_directory_path=str((path.parent / code.code).resolve()) if code else None,
        yaml_code_scoring_script_file_name=code.scoring_script if code else None,
        model_directory_path=str(model.resolve().parent),
        model_mount_path=f"/{theirs.model.name}/{theirs.model.version}",
    )
    base = path.parent
    script = ours.options.get("entry_script")
    settings = Settings(
        entry_script=(base / script).resolve() if script else None,
        model_dir=(base / ours.options["model_dir"]).resolve(),
        # The local endpoint ignores model_mount_path (custom containers only); compare the rest.
        endpoint=replace(ours.endpoint, model_mount_path=None),
    )
    mounted = platform_layout(settings)
    expected = {
        key: posixpath.normpath(value)
        for key, value in context.environment.items()
        if key in mounted.environment
    }
    assert mounted.environment == expected
    binds = {
        host: spec["bind"] for volume in context.volumes.values() for host, spec in volume.items()
    }
    model_dir = posixpath.normpath(binds.pop(str(model.resolve().parent)))
    # the model itself
    assert mounted.mounts.pop(str(model.resolve())) == posixpath.join(model_dir, model.name)
    assert {host: posixpath.normpath(inside) for host, inside in binds.items()} == mounted.mounts


def theirs_batch(path: Path) -> Any:
    """The SDK's reading: ModelBatchDeployment for the settings form, BatchDeployment for the classic one."""
    ml = azure_ml()
    if "settings" not in deployment_kinds.load(path).data:
        return ml.load_batch_deployment(str(path))
    from azure.ai.ml.entities import ModelBatchDeployment
    from azure.ai.ml.entities._load_functions import load_common

    return load_common(ModelBatchDeployment, str(path), None, None)


@pytest.mark.parametrize("path", BATCH_YAMLS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_batch_yaml_reads_as_the_sdk_reads_it(path: Path) -> None:
    ours, theirs = deployment_kinds.load(path), theirs_batch(path)
    assert ours.batch is not None
    settings = getattr(theirs, "settings", None) or theirs
    for name in (
        "max_concurrency_per_instance",
        "mini_batch_size",
        "output_action",
        "error_threshold",
        "logging_level",
    ):
        said = getattr(settings, name)
        assert getattr(ours.batch, name) == (said.lower() if isinstance(said, str) else said), name
    if getattr(settings, "output_file_name", None):
        assert ours.batch.output_file_name == settings.output_file_name
    retry = settings.retry_settings
    assert (ours.batch.max_retries, ours.batch.timeout) == (retry.max_retries, retry.timeout)
    assert ours.options.get("image") == theirs.environment.image
    code, base = theirs.code_configuration, path.parent
    assert (base / ours.options["entry_script"]).resolve() == (
        base / code.code / code.scoring_script
    ).resolve()
    assert ours.endpoint.environment == {
        k: str(v) for k, v in (settings.environment_variables or {}).items()
    }


def test_the_known_keys_are_the_sdks() -> None:
    """``config/deployment_keys.json`` is what scripts/deployment_keys.py reads from the installed azure-ai-ml's
    schemas: run it after an upgrade."""
    import json
    import runpy

    azure_ml()
    script = runpy.run_path(str(ROOT / "scripts" / "deployment_keys.py"))
    shipped = json.loads((ROOT / "pytest_amlimage/config/deployment_keys.json").read_text())
    assert script["read"]()["kinds"] == shipped["kinds"]


ONLINE = "name: blue\nendpoint_name: my-endpoint\ninstance_type: Standard_DS3_v2\nenvironment:\n  image: x:1\n"
TEMPLATE = (ROOT / "examples/template/template.yml").read_text()
BATCH = (
    "name: scorer\nendpoint_name: my-endpoint\ncompute: azureml:cpu\nenvironment:\n  image: x:1\n"
    "code_configuration:\n  code: .\n  scoring_script: score.py\nmini_batch_size: 3\n"
)
MISSPELT = [
    (
        "online",
        ONLINE.replace("instance_type:", "instance_typ:"),
        ["instance_typ", "instance_type"],
    ),
    (
        "online",
        ONLINE + "request_settings:\n  request_timeout: 9000\n",
        ["request_settings.request_timeout"],
    ),
    (
        "online",
        ONLINE.replace("instance_type: Standard_DS3_v2\n", ""),
        ["instance_type is missing"],
    ),
    ("template", TEMPLATE.replace("scoring_port:", "scoring_prot:"), ["scoring_prot"]),
    (
        "template",
        TEMPLATE.replace("allowed_instance_types:", "allowed_instance_typs:"),
        ["allowed"],
    ),
    ("template", TEMPLATE.replace("liveness_probe:", "liveness_prob:"), ["liveness_prob"]),
    ("batch", BATCH.replace("mini_batch_size:", "mini_batch_sise:"), ["mini_batch_sise"]),
]


def theirs_refusal(kind: str, path: Path) -> str:
    """What azure-ai-ml says of the file (empty when it takes it)."""
    ml = azure_ml()
    load = {
        "online": ml.load_online_deployment,
        "template": ml.load_deployment_template,
        "batch": ml.load_batch_deployment,
    }[kind]
    try:
        load(str(path))
    except Exception as error:  # its ValidationException: the marshmallow messages in its text
        return str(error)
    return ""


@pytest.mark.parametrize(("kind", "text", "named"), MISSPELT)
def test_a_misspelt_or_missing_key_is_refused_by_both(
    tmp_path: Path, kind: str, text: str, named: list[str]
) -> None:
    from pytest_amlimage.checks.deployment_yaml import deployment as check
    from pytest_amlimage.errors import CheckFailed

    (tmp_path / "score.py").write_text("def init(): pass\ndef run(mini_batch): return mini_batch\n")
    path = tmp_path / "deployment.yml"
    path.write_text(text)
    said = theirs_refusal(kind, path)
    assert "Unknown field" in said or "Missing data for required field" in said
    with pytest.raises(CheckFailed) as failed:
        check(deployment_kinds.load(path), 2)
    for name in named:
        assert name in str(failed.value)


@pytest.mark.parametrize(
    ("kind", "text"), [("online", ONLINE), ("template", TEMPLATE), ("batch", BATCH)]
)
def test_the_same_files_spelt_right_are_taken_by_both(tmp_path: Path, kind: str, text: str) -> None:
    from pytest_amlimage.checks.deployment_yaml import deployment as check

    (tmp_path / "score.py").write_text("def init(): pass\ndef run(mini_batch): return mini_batch\n")
    path = tmp_path / "deployment.yml"
    path.write_text(text)
    assert theirs_refusal(kind, path) == ""
    check(deployment_kinds.load(path), 2)


def test_a_missing_name_is_a_warning_as_az_ml_takes_it_from_a_flag(tmp_path: Path) -> None:
    """azure-ai-ml refuses the file alone, but ``az ml online-deployment create --name`` supplies it."""
    from pytest_amlimage.checks.deployment_yaml import deployment as check

    path = tmp_path / "deployment.yml"
    path.write_text(ONLINE.replace("name: blue\n", ""))
    assert "Missing data for required field" in theirs_refusal("online", path)
    with pytest.warns(pytest.PytestWarning, match="name is missing .* az ml takes it from --name"):
        check(deployment_kinds.load(path), 2)
