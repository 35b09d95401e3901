"""An MLflow model folder as the platform reads it for a no-code deployment: ``MLmodel`` and its ``conda.yaml``.

Facts only, each with the line it is on, so that a check can name file and line; nothing is imported
from mlflow (the model is read as the YAML it is).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from pytest_amlimage.errors import AmlUsageError

PYTHON_PIN = re.compile(r"^python\s*[=<>~!]=?\s*([\d.]+)")
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass(frozen=True)
class Requirement:
    """One dependency of the conda file: its name, its text, and the line it is on (from 1)."""

    name: str
    text: str
    line: int


@dataclass(frozen=True)
class MlflowModel:
    """What the platform reads of the model: its flavors, versions, signature, example and environment."""

    path: Path
    flavors: tuple[str, ...]
    mlflow_version: str | None
    has_signature: bool
    example: dict[str, Any] | None  # MLmodel's saved_input_example_info
    conda: Path | None
    python: tuple[str, int] | None = None  # the conda file's Python pin and its line
    requirements: tuple[Requirement, ...] = ()
    lines: dict[str, int] = field(default_factory=dict)  # MLmodel's top-level keys -> line

    @property
    def folder(self) -> str:
        """``MLFLOW_MODEL_FOLDER``: the folder's own name, below ``AZUREML_MODEL_DIR``."""
        return self.path.name

    def requirement(self, *names: str) -> Requirement | None:
        return next((r for r in self.requirements if r.name in names), None)

    def example_body(self) -> bytes | None:
        """The input example as a request the endpoint takes: ``{"input_data": ...}`` (split orientation)."""
        if not self.example or not self.example.get("artifact_path"):
            return None
        loaded = json.loads((self.path / str(self.example["artifact_path"])).read_text())
        data = loaded.get("inputs", loaded) if self.example.get("type") == "ndarray" else loaded
        if isinstance(data, dict) and "columns" in data and "data" in data and "index" not in data:
            data = {
                **data,
                "index": list(range(len(data["data"]))),
            }  # split form, as the swagger shows it
        return json.dumps({"input_data": data}).encode()


def _top_lines(text: str) -> dict[str, int]:
    return {
        line.split(":", 1)[0]: number
        for number, line in enumerate(text.splitlines(), 1)
        if line and not line[0].isspace() and ":" in line
    }


def _requirements(conda: Path) -> tuple[tuple[str, int] | None, tuple[Requirement, ...]]:
    """The conda file's Python pin and every other dependency (conda's and pip's), with their lines."""
    text = conda.read_text()
    python, found = None, []
    for number, line in enumerate(text.splitlines(), 1):
        item = line.strip()
        if not item.startswith("- ") or item.endswith(":"):
            continue
        value = item[2:].strip().strip("'\"")
        pinned = PYTHON_PIN.match(value)
        if pinned:
            python = (pinned.group(1), number)
            continue
        name = NAME.match(value)
        if name and name.group(1) not in ("python", "pip"):
            found.append(Requirement(name.group(1).lower().replace("_", "-"), value, number))
    return python, tuple(found)


def read(path: Path) -> MlflowModel:
    """The model at ``path``; a usage error when its ``MLmodel`` is not the YAML MLflow writes."""
    text = (path / "MLmodel").read_text()
    try:
        described = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise AmlUsageError(f"{path / 'MLmodel'} is not YAML: {error}") from None
    if not isinstance(described, dict):
        raise AmlUsageError(f"{path / 'MLmodel'} is not an MLflow model description")
    flavors = described.get("flavors") or {}
    pyfunc = flavors.get("python_function") or {}
    env = pyfunc.get("env")
    name = env.get("conda") if isinstance(env, dict) else env
    conda = path / str(name or "conda.yaml")
    python, requirements = _requirements(conda) if conda.is_file() else (None, ())
    return MlflowModel(
        path=path,
        flavors=tuple(flavors),
        mlflow_version=str(described["mlflow_version"])
        if described.get("mlflow_version")
        else None,
        has_signature=bool(described.get("signature")),
        example=described.get("saved_input_example_info"),
        conda=conda if conda.is_file() else None,
        python=python,
        requirements=requirements,
        lines=_top_lines(text),
    )
