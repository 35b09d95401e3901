"""How an image is started: as an online deployment would, or kept alive for the probe when it cannot serve."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping, Sequence

from . import container as containers
from . import engine, layout
from .imageinfo import ImageInfo
from .probe import SERVER_CWD
from .settings import Settings

DEFAULT_CPUS = 2.0  # at most: never more than the engine has
SERVER_PROGRAMS = ("azmlinfsrv", "azureml_inference_server_http")  # the script, or python -m the package


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
    starts = settings.command or info.command_line  # what the endpoint runs (kept alive or not here)
    own = probe_environment(starts, info.working_dir, {**info.env, **environment})
    serves = bool(
        settings.command
        or settings.entry_script
        or info.env.get("AZUREML_ENTRY_SCRIPT")
        or own
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
        cpus=settings.cpus if settings.cpus is not None else min(DEFAULT_CPUS, engine_cpus),
        command=command,
        entrypoint=entrypoint,
        environment=environment,
        mounts=mounted.mounts,
        gpus=settings.gpu,
        bind_loopback=engine.engine_is_local(docker_host),
        probe_environment=own,
        runit=any(posixpath.basename(word) == "runsvdir" for word in _words(starts)),
    )


def probe_environment(command_line: Sequence[str], working_dir: str, environment: Mapping[str, str]) -> dict[str, str]:
    """What the probe must see to read X as ``azmlinfsrv --entry_script X`` in a command line will load it.

    The server makes X absolute against its working directory, takes that directory as
    ``AML_APP_ROOT`` unless one is set, and ``--model_dir`` as ``AZUREML_MODEL_DIR``
    (``merge_configuration`` in azureml_inference_server_http's ``amlserver.py``); gunicorn puts the
    directory on the import path too. Empty when the command does not start azmlinfsrv with a script;
    a shell's ``-c`` text is split as the shell would.
    """
    words = _words(command_line)
    script, model_dir = _option(words, "--entry_script"), _option(words, "--model_dir")
    if script is None or not any(posixpath.basename(word) in SERVER_PROGRAMS for word in words):
        return {}
    root = working_dir or "/"
    found = {"AZUREML_ENTRY_SCRIPT": posixpath.normpath(posixpath.join(root, script)), SERVER_CWD: root}
    found.update({} if "AML_APP_ROOT" in environment else {"AML_APP_ROOT": root})
    return found | ({"AZUREML_MODEL_DIR": posixpath.join(root, model_dir)} if model_dir else {})


def _words(command_line: Sequence[str]) -> list[str]:
    words: list[str] = []
    for before, word in zip(("", *command_line), command_line):
        shell_text = before.startswith("-") and not before.startswith("--") and "c" in before  # -c, -ec, -lc
        try:
            words += shlex.split(word) if shell_text else [word]
        except ValueError:  # unbalanced quotes: the shell would refuse it too
            words.append(word)
    return words


def _option(words: list[str], name: str) -> str | None:
    for index, word in enumerate(words):
        if word == name and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(name + "="):
            return word[len(name) + 1 :]
    return None


def platform_layout(settings: Settings) -> layout.Mounted:
    """The code and model mounts of an online deployment, and the variables that point at them."""
    endpoint, script, model = settings.endpoint, settings.entry_script, settings.model_dir
    mounts: dict[str, str] = {}
    environment: dict[str, str] = {}
    if script is not None:
        code = endpoint.code if endpoint.code is not None and endpoint.code in script.parents else script.parent
        code_part = layout.code_mount(code, script)
        mounts.update(code_part.mounts)
        environment.update(code_part.environment)
    if model is not None:
        directory = layout.model_dir(model, endpoint.model_name, endpoint.model_version, endpoint.model_mount_path)
        model_part = layout.model_mount(model, directory)
        mounts.update(model_part.mounts)
        environment.update(model_part.environment)
    return layout.Mounted(mounts, environment)
