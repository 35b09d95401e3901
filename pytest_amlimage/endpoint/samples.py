"""Sample requests (``--aml-sample``) and comparing responses with their expected JSON."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_amlimage.errors import AmlUsageError, CheckFailed

EXPECTED_SUFFIX = ".expected.json"
SHOWN_DIFFERENCES = 20
NOTHING = object()


@dataclass(frozen=True)
class Sample:
    name: str
    path: Path
    body: bytes
    expected: Any = NOTHING
    unusable: str | None = None  # why it cannot be sent (an MLflow input example): its check skips

    @property
    def has_expected(self) -> bool:
        return self.expected is not NOTHING


# the bodies MLflow's own scoring server takes, which the Azure ML MLflow scoring script does not
MLFLOW_FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
ENDPOINT_FORMAT = (
    '{"input_data": {"columns": [...], "index": [...], "data": [[...]]}} (or a tensor list)'
)


def mlflow_format(body: bytes) -> str | None:
    """The MLflow format a request body is written in (its top-level key), when it lacks ``input_data``."""
    try:
        found = json.loads(body)
    except ValueError:
        return None
    if not isinstance(found, dict) or "input_data" in found:
        return None
    return next((key for key in MLFLOW_FORMATS if key in found), None)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise AmlUsageError(
            f"{what} {path} is not valid JSON ({error}): fix or remove the file"
        ) from None


def _load_one(path: Path) -> Sample:
    _read_json(path, "sample request")
    expected_path = path.with_name(path.name[: -len(".json")] + EXPECTED_SUFFIX)
    expected = (
        _read_json(expected_path, "expected response") if expected_path.is_file() else NOTHING
    )
    return Sample(path.name[: -len(".json")], path, path.read_bytes(), expected)


def load(paths: tuple[Path, ...]) -> list[Sample]:
    """Every ``*.json`` request (not ``*.expected.json``) named directly or inside a named folder."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.json") if not p.name.endswith(EXPECTED_SUFFIX))
            if not found:
                raise AmlUsageError(
                    f"sample folder {path} holds no *.json request: add one or drop the option"
                )
            files += found
        elif not path.name.endswith(".json") or path.name.endswith(EXPECTED_SUFFIX):
            raise AmlUsageError(
                f"sample {path} must be a request file named *.json (not *{EXPECTED_SUFFIX})"
            )
        else:
            files.append(path)
    samples = [_load_one(path) for path in dict.fromkeys(files)]
    names = [s.name for s in samples]
    if len(set(names)) != len(names):
        raise AmlUsageError(f"two samples share a name ({', '.join(sorted(names))}): rename one")
    return samples


def differences(
    actual: Any, expected: Any, rtol: float, atol: float, where: str = "$"
) -> list[str]:
    """Where ``actual`` differs from ``expected``; numbers within tolerance are equal."""
    if _is_number(actual) and _is_number(expected):
        if math.isclose(float(actual), float(expected), rel_tol=rtol, abs_tol=atol):
            return []
        return [f"{where}: {actual!r} != expected {expected!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        found = [f"{where}.{key}: missing" for key in expected if key not in actual]
        found += [f"{where}.{key}: unexpected" for key in actual if key not in expected]
        for key in expected:
            if key in actual:
                found += differences(actual[key], expected[key], rtol, atol, f"{where}.{key}")
        return found
    if isinstance(expected, list) and isinstance(actual, list):
        if len(actual) != len(expected):
            return [f"{where}: {len(actual)} items != expected {len(expected)}"]
        return [
            d
            for i, (a, e) in enumerate(zip(actual, expected))
            for d in differences(a, e, rtol, atol, f"{where}[{i}]")
        ]
    same = actual == expected and isinstance(actual, bool) == isinstance(expected, bool)
    return [] if same else [f"{where}: {actual!r} != expected {expected!r}"]


@dataclass(frozen=True)
class Tolerance:
    """How far an answer's numbers may be from the expected ones (``--aml-rtol``, ``--aml-atol``)."""

    rtol: float
    atol: float


def require_same(actual: Any, expected: Any, tolerance: Tolerance, heading: str) -> None:
    """A response equals the expected one within tolerance; else ``CheckFailed`` listing where it differs."""
    found = differences(actual, expected, tolerance.rtol, tolerance.atol)
    if found:
        raise CheckFailed(heading + ":\n" + "\n".join(found[:SHOWN_DIFFERENCES]))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
