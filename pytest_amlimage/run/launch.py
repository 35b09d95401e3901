"""How an image is started: as an online deployment would, or kept alive for the probe when it cannot serve."""

from __future__ import annotations

import dataclasses
import posixpath

from pytest_amlimage.config import layout
from pytest_amlimage.config.platform import SERVER_PORT
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint import batch
from pytest_amlimage.engine import container as containers
from pytest_amlimage.engine import docker_engine
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.run import start_command

DEFAULT_CPUS = 2.0  # at most: never more than the engine has


def plan_launch(
    settings: Settings,
    reference: str,
    info: ImageInfo,
    docker_host: str | None = None,
    engine_cpus: float = DEFAULT_CPUS,
) -> containers.LaunchPlan:
    """How to start ``reference`` as the endpoint would: the platform's mounts and environment, its routes' ports.

    An image serves when it is given or bakes in an entry script (``AZUREML_ENTRY_SCRIPT``, or its own
    command's ``azmlinfsrv --entry_script``), or runs a server of its own (a custom container, or
    ``--aml-command``); one that cannot serve is kept alive for the probe.
    """
    endpoint, mounted = settings.endpoint, platform_layout(settings)
    environment = {**endpoint.environment, **mounted.environment}
    # what the endpoint runs (kept alive or not)
    said = start_command.words(settings.command or info.command_line)
    own = start_command.server_environment(said, info.working_dir, {**info.env, **environment})
    # a batch job is kept alive: our driver runs the script
    idle = BATCH_JOB if settings.batch is not None else _needs_a_model(settings, info)
    serves = not idle and bool(
        settings.command
        or settings.entry_script
        or info.env.get("AZUREML_ENTRY_SCRIPT")
        or start_command.serves_script(said)
        or endpoint.custom_container
    )
    entrypoint, command = (None, None) if serves else containers.KEEP_ALIVE
    if settings.command:
        entrypoint, command = [settings.command[0]], list(settings.command[1:])
    return containers.LaunchPlan(
        image=reference,
        serves=serves,
        port=endpoint.scoring_route.port,
        ports=endpoint.ports,
        memory=settings.memory,
        cpus=settings.cpus
        if settings.cpus is not None
        else min(instance_cpus(settings), engine_cpus),
        command=command,
        entrypoint=entrypoint,
        environment=environment,
        mounts=mounted.mounts,
        script_at=mounted.script,
        model_at=mounted.model,
        gpus=settings.gpu,
        bind_loopback=docker_engine.engine_is_local(docker_host),
        probe_environment=own,
        runit=start_command.runs(said, "runsvdir"),
        unreachable=_unreachable(start_command.server_port(said), endpoint.scoring_route.port),
        idle=idle,
    )


BATCH_JOB = "a batch deployment serves nothing: the batch driver runs its scoring script"


def with_batch(mounted: layout.Mounted, settings: Settings) -> layout.Mounted:
    """A batch job's mounts beside the deployment's: the driver, and the input; the output folder's variable."""
    assert settings.batch_input is not None
    return dataclasses.replace(
        mounted,
        mounts={
            **mounted.mounts,
            str(batch.driver_file()): batch.DRIVER_AT,
            str(settings.batch_input): batch.input_inside(settings.batch_input),
        },
        environment={**mounted.environment, batch.OUTPUT_VARIABLE: batch.OUTPUT_AT},
    )


MLFLOW_SCRIPT = "mlflow_score_script.py"  # the curated MLflow image's own scoring script


def _needs_a_model(settings: Settings, info: ImageInfo) -> str | None:
    """Why an MLflow image cannot serve yet: its own script loads a model at import, and none is given."""
    script = posixpath.basename(info.env.get("AZUREML_ENTRY_SCRIPT", ""))
    if (
        script != MLFLOW_SCRIPT
        or settings.mlflow_model
        or settings.entry_script
        or settings.command
    ):
        return None
    return (
        f"this image serves MLflow models with its own {MLFLOW_SCRIPT}, which loads the model at import: "
        "give one with --aml-mlflow-model DIR (or a deployment YAML whose model is type: mlflow_model)"
    )


def serving_itself(plan: containers.LaunchPlan) -> containers.LaunchPlan:
    """``plan`` for an image whose own command serves (a catalog row says so): started as it is, and probed."""
    return dataclasses.replace(plan, serves=True, command=None, entrypoint=None)


def instance_cpus(settings: Settings) -> float:
    """The CPUs the container gets before the engine's cap: the instance type's, else the default."""
    return settings.instance.vcpus if settings.instance is not None else DEFAULT_CPUS


def _unreachable(listens: int | None, probed: int) -> str | None:
    """Why the endpoint could never reach the server: it listens on another port than the one probed."""
    if listens is None or listens == probed:
        return None
    return (
        f"the start command runs azmlinfsrv on port {listens}, but the endpoint probes and scores on "
        f"{probed}: drop --port {listens} (the server's default is {SERVER_PORT}), or declare the port in the "
        "deployment's inference_config"
    )


def platform_layout(settings: Settings) -> layout.Mounted:
    """The code and model mounts of a deployment, and the variables that point at them; a batch job's input,
    driver and output folder beside them."""
    endpoint, script = settings.endpoint, settings.entry_script
    model = settings.mlflow_model or settings.model_dir
    code_part = model_part = layout.Mounted()
    if script is not None:
        code = (
            endpoint.code
            if endpoint.code is not None and endpoint.code in script.parents
            else script.parent
        )
        code_part = layout.code_mount(code, script)
    if model is not None:
        directory = layout.model_dir(
            model, endpoint.model_name, endpoint.model_version, endpoint.model_mount_path
        )
        model_part = layout.model_mount(model, directory)
    environment = {**code_part.environment, **model_part.environment}
    # the image's script finds the model below the directory
    if model is not None and settings.mlflow_model is not None:
        environment["MLFLOW_MODEL_FOLDER"] = model.name
    mounts = {**code_part.mounts, **model_part.mounts}
    mounted = layout.Mounted(mounts, environment, code_part.script, model_part.model)
    return with_batch(mounted, settings) if settings.batch is not None else mounted
