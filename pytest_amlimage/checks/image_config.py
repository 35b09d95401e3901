"""Start-up hazards baked into the image's configuration, read from what the engine says of it (no container
needed); credentials in it are the ``secrets`` check's."""

from __future__ import annotations

from pytest_amlimage.config.platform import SERVER_PORT
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.errors import CheckFailed

INTEGERS = ("SCORING_TIMEOUT_MS", "WORKER_COUNT", "WORKER_TIMEOUT")
PLATFORM = ("linux", "amd64")


def _server_settings(env: dict[str, str]) -> list[str]:
    problems = [
        f"{name}={env[name]!r} is not a whole number: the server stops at start"
        for name in INTEGERS
        if name in env and not env[name].strip().isdigit()
    ]
    if env.get("AZUREML_DEBUG_PORT"):
        problems.append(
            "AZUREML_DEBUG_PORT is set: the server waits for a debugger at every start, forever"
        )
    if "SERVER_PORT" in env:
        ignored = f"the port is the start script's ({SERVER_PORT})"
        problems.append(f"SERVER_PORT is set, but the server ignores it: {ignored}")
    return problems


def image_config(info: ImageInfo, deployment_env: dict[str, str]) -> None:
    """No start-up traps in the environment, and a platform Azure ML runs (linux/amd64)."""
    env = {**info.env, **deployment_env}
    problems = _server_settings(env)
    if (info.os or "linux", info.architecture or "amd64") != PLATFORM:
        problems.append(
            f"the image is {info.os}/{info.architecture}, but online endpoints run linux/amd64: "
            "build with --platform linux/amd64 (an Arm laptop builds arm64 by default)"
        )
    if problems:
        raise CheckFailed("\n".join(problems))
