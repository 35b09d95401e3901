"""An MLflow model folder as the platform reads it for a no-code deployment: ``MLmodel`` and its ``conda.yaml``.

Facts only, each with the line it is on, so that a check can name file and line; nothing is imported
from mlflow (the model is read as the YAML it is).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pytest_amlimage.config import yamlfile
from pytest_amlimage.config.yamlfile import Table
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
    example: Table | None  # MLmodel's saved_input_example_info
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

    def example_request(self) -> bytes:
        """The saved input example as the request the curated image's scoring script takes: ``{"input_data":
        ...}`` (a frame in split form, a tensor as a list, named tensors, an object as it is), and ``params``
        beside it when the example has them. ``UnusableExample`` says why there is none to send."""
        info = self.example or {}
        if not info.get("artifact_path"):
            raise UnusableExample("the model has no input example")
        path = self.path / str(info["artifact_path"])
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise UnusableExample(f"{path} cannot be read as JSON ({error})") from None
        loaded, params = _with_params(info, loaded)
        body: dict[str, object] = {"input_data": _input_data(str(info.get("type")), loaded, path)}
        return json.dumps({**body, "params": params} if params else body).encode()


class UnusableExample(ValueError):
    """The model's input example cannot be sent as a request (its ``score`` check skips, saying why)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"the model's input example cannot be sent: {why}")


def _with_params(info: Table, loaded: object) -> tuple[object, object]:
    """An example saved with inference params is ``{"inputs": DATA, "params": {...}}`` (MLmodel says
    ``params: 'true'``); MLflow 2 also kept an ndarray's under ``inputs`` (TF serving's form)."""
    if not isinstance(loaded, dict) or "inputs" not in loaded:
        return loaded, None
    if str(info.get("params")).lower() == "true":
        return loaded["inputs"], loaded.get("params")
    if info.get("type") == "ndarray" and set(loaded) == {"inputs"}:
        return loaded["inputs"], None
    return loaded, None


def _input_data(kind: str, loaded: object, path: Path) -> object:
    """``input_data`` as the scoring script types it from an example of ``kind`` (MLmodel's ``type``)."""
    if kind == "dataframe":
        return _split_frame(loaded, path)
    if kind == "ndarray":
        if isinstance(loaded, (list, dict)):
            return loaded  # a tensor, or named tensors: sent as they are written
        raise UnusableExample(f"{path} is not an array (a list, or named lists)")
    if kind == "json_object":
        return loaded
    if kind.startswith("sparse_matrix"):
        raise UnusableExample(
            f"{kind}: the scoring script types no request from a sparse example; give --aml-sample"
        )
    raise UnusableExample(
        f"its type {kind!r} is not one MLflow writes (dataframe, ndarray, json_object)"
    )


def _split_frame(loaded: object, path: Path) -> dict[str, object]:
    """A frame in split form, ``index`` added as the swagger shows it: from MLflow's split, records or
    values orientation."""
    if isinstance(loaded, dict) and "data" in loaded:
        rows = loaded["data"]
        columns = loaded.get("columns", list(range(len(rows[0]) if rows else 0)))
    elif isinstance(loaded, list) and all(isinstance(row, dict) for row in loaded):
        columns = list(dict.fromkeys(key for row in loaded for key in row))
        rows = [[row.get(column) for column in columns] for row in loaded]
    elif isinstance(loaded, list) and all(isinstance(row, list) for row in loaded):
        rows, columns = loaded, list(range(len(loaded[0]) if loaded else 0))
    else:
        raise UnusableExample(f"{path} is not a table (split, records or values)")
    return {"columns": columns, "index": list(range(len(rows))), "data": rows}


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


def _table(value: object) -> Table:
    return {str(key): item for key, item in value.items()} if isinstance(value, dict) else {}


def read(path: Path, source: str = "--aml-mlflow-model") -> MlflowModel:
    """The model at ``path``; a usage error when its ``MLmodel`` is not the YAML MLflow writes."""
    document = yamlfile.read(path / "MLmodel", source, "the model's MLmodel")
    if not isinstance(document.data, (dict, type(None))):
        raise AmlUsageError(f"{path / 'MLmodel'} is not an MLflow model description")
    described = _table(document.data)
    flavors = _table(described.get("flavors"))
    env = _table(flavors.get("python_function")).get("env")
    name = _table(env).get("conda") if isinstance(env, dict) else env
    conda = path / str(name or "conda.yaml")
    python, requirements = _requirements(conda) if conda.is_file() else (None, ())
    example = described.get("saved_input_example_info")
    return MlflowModel(
        path=path,
        flavors=tuple(flavors),
        mlflow_version=str(described["mlflow_version"])
        if described.get("mlflow_version")
        else None,
        has_signature=bool(described.get("signature")),
        example=_table(example) if example else None,
        conda=conda if conda.is_file() else None,
        python=python,
        requirements=requirements,
        lines={keys[0]: line + 1 for keys, line in document.lines.items() if len(keys) == 1},
    )
