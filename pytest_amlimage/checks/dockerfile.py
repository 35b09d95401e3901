"""Static checks of a Dockerfile before it is built (parsed with dockerfile-parse), with line numbers."""

from __future__ import annotations

import posixpath
from pathlib import Path

from pytest_amlimage.config.platform import APP_ROOT, ROOT_FIX, is_root
from pytest_amlimage.engine.container import AmlContainer
from pytest_amlimage.engine.dockerfile import Dockerfile
from pytest_amlimage.errors import CheckFailed

AZUREML_PREFIX = "mcr.microsoft.com/azureml/"


def last_user(dockerfile: Dockerfile) -> None:
    """The last USER of the final stage is not root (the forgotten switch back)."""
    users = [i for i in dockerfile.instructions if i["instruction"] == "USER"]
    if users and is_root(users[-1]["value"]):
        raise CheckFailed(
            f"{dockerfile.where(users[-1])}: the last USER is {users[-1]['value']!r}; {ROOT_FIX}"
        )


def _copied(dockerfile: Dockerfile) -> dict[str, Path]:
    """Container path -> context path, for every file the final stage COPYs or ADDs from the context."""
    found: dict[str, Path] = {}
    for item in dockerfile.instructions:
        words = item["value"].split()
        if item["instruction"] not in ("COPY", "ADD") or any(w.startswith("--from") for w in words):
            continue
        parts = [w for w in words if not w.startswith("--")]
        sources, dest = parts[:-1], parts[-1]
        for source in sources:
            local = dockerfile.context / source
            if local.is_dir():
                for file in (p for p in local.rglob("*") if p.is_file()):
                    found[posixpath.join(dest, file.relative_to(local).as_posix())] = file
            elif local.is_file():
                target = posixpath.join(dest, local.name) if dest.endswith("/") else dest
                found[target] = local
    return found


def entry_paths(dockerfile: Dockerfile, built: AmlContainer | None = None) -> None:
    """AZUREML_ENTRY_SCRIPT and AZUREML_MODEL_DIR point at something the image has.

    The Dockerfile's COPY lines are a first reading; a path they do not fill may still be made by a
    RUN step (a model downloaded, a folder written), so the built image, ``built``, is the witness:
    only a path missing there too is a problem, named with the lines to change.
    """
    copied = _copied(dockerfile)
    problems: dict[str, str] = {}
    script = dockerfile.envs.get("AZUREML_ENTRY_SCRIPT")
    if script:
        full = posixpath.normpath(
            posixpath.join(dockerfile.envs.get("AML_APP_ROOT", APP_ROOT), script)
        )
        if full not in copied:
            problems[full] = (
                f"AZUREML_ENTRY_SCRIPT={script} ({full}) is not among the files the Dockerfile copies"
            )
    model = dockerfile.envs.get("AZUREML_MODEL_DIR")
    if model and not any(path.startswith(posixpath.normpath(model) + "/") for path in copied):
        problems[model] = f"AZUREML_MODEL_DIR={model} receives no file from a COPY"
    present, also = (
        _present(built, list(problems)),
        ", and the built image has nothing there" if built else "",
    )
    missing = [text + also for path, text in problems.items() if path not in present]
    if missing:
        raise CheckFailed(
            f"{dockerfile.path.name}: " + "\n".join(missing) + "\nfix the COPY lines or the ENV"
        )


def _present(built: AmlContainer | None, paths: list[str]) -> set[str]:
    """Which of ``paths`` the built image has: a file, or a folder with something in it (none known without it)."""
    if built is None or not paths:
        return set()
    listed = (
        'for p; do { [ -f "$p" ] || [ -n "$(ls -A "$p" 2>/dev/null)" ]; } && echo "$p"; done; true'
    )
    return set(built.exec(["sh", "-c", listed, "sh", *paths]).output.split("\n")) - {""}


def base_image(dockerfile: Dockerfile, any_base: bool) -> None:
    """The image starts from an Azure ML inference image (unless --aml-any-base)."""
    if any_base or dockerfile.base.startswith(AZUREML_PREFIX):
        return
    line = next(
        (dockerfile.where(i) for i in dockerfile.instructions if i["instruction"] == "FROM"),
        dockerfile.path.name,
    )
    raise CheckFailed(
        f"{line}: FROM {dockerfile.base} is not an Azure ML inference image ({AZUREML_PREFIX}...); "
        "pass --aml-any-base if that is intended"
    )


def build_failed(error: str) -> None:
    """The build's own failure: the step and the last lines of its output."""
    raise CheckFailed(error)
