"""Where Azure ML puts things in the container, and how an online deployment mounts code and model.

As the platform's own local emulation does it (``azure-ai-ml``: ``_local_endpoints/
azureml_image_context.py``): the code folder at ``/var/azureml-app/<folder name>/``,
``AML_APP_ROOT`` that folder joined with the scoring script's directory,
``AZUREML_ENTRY_SCRIPT`` the script's file name, and the model under
``/var/azureml-app/azureml-models/<name>/<version>`` with ``AZUREML_MODEL_DIR`` pointing there
(an unnamed model is registered under a hash of its content, version 1), so a model folder ``model/`` is read as
``$AZUREML_MODEL_DIR/model/...``. One difference: the SDK mounts the model path's parent
folder; we mount the model path itself at the same place inside, so the script sees exactly
what a registered model gives it and nothing of the folders beside it.
"""

from __future__ import annotations

import hashlib
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from pytest_amlimage.config.platform import APP_ROOT, MODEL_ROOT


@dataclass(frozen=True)
class Mounted:
    """Read-only mounts (host path -> container path) and the environment that goes with them; where the entry
    script and the model are inside, as paths (a batch job's driver is told them)."""

    mounts: dict[str, str] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)
    script: str | None = None
    model: str | None = None


def model_dir(
    model: Path, name: str | None, version: str | None, mount_path: str | None = None
) -> str:
    """``AZUREML_MODEL_DIR`` for a model of this name and version (or the deployment's model_mount_path)."""
    if mount_path:
        return posixpath.normpath(mount_path)
    return posixpath.join(MODEL_ROOT, name or anonymous_name(model), version or "1")


def anonymous_name(model: Path) -> str:
    """The name Azure ML registers an unnamed model under: a hash of its files (azure-ai-ml's get_object_hash).

    ``.amlignore``/``.gitignore`` rules, which leave files out of that hash, are not applied.
    """
    digest = hashlib.sha256(b"Initialize for october 2021 AML CLI version")
    _hash_into(digest, model)
    return hashlib.sha256(digest.hexdigest().encode()).hexdigest()


def _hash_into(digest: hashlib._Hash, path: Path) -> None:
    if not path.is_dir():
        digest.update(path.resolve().read_bytes())
        return
    for child in sorted(path.iterdir(), key=lambda p: str(p).lower()):
        digest.update(child.name.encode())
        _hash_into(digest, child.resolve() if child.is_symlink() else child)


def code_mount(code: Path, entry_script: Path) -> Mounted:
    """The code folder at /var/azureml-app/<its name>; the app root is the script's own folder there."""
    inside = posixpath.join(APP_ROOT, code.name)
    relative = entry_script.parent.relative_to(code).as_posix()
    app_root = posixpath.normpath(posixpath.join(inside, relative))
    variables = {"AML_APP_ROOT": app_root, "AZUREML_ENTRY_SCRIPT": entry_script.name}
    return Mounted(
        {str(code): inside}, variables, script=posixpath.join(app_root, entry_script.name)
    )


def model_mount(model: Path, directory: str) -> Mounted:
    """The model (a folder or a file) at ``directory/<its name>``; ``AZUREML_MODEL_DIR`` is ``directory``."""
    inside = posixpath.join(directory, model.name)
    return Mounted({str(model): inside}, {"AZUREML_MODEL_DIR": directory}, model=inside)
