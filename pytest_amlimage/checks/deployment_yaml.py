"""The deployment YAML against the platform's own rules, before anything runs: what Azure ML would refuse,
or resolve only in the cloud. One line per problem, with the file and line."""

from __future__ import annotations

import difflib
import re
import warnings
from datetime import date

import pytest

from pytest_amlimage.config import instance_types, schema_keys
from pytest_amlimage.config.deployment import Deployment, is_kubernetes
from pytest_amlimage.config.yamlfile import Keys, Table
from pytest_amlimage.errors import CheckFailed

# managed endpoints (reference-yaml-deployment-managed-online, RequestSettings)

MAX_REQUEST_TIMEOUT_MS = 180000
# how-to-manage-quotas: endpoint and deployment names
NAME = re.compile(r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$")
NAME_LENGTH = (3, 32)
PROBE_MINIMUMS = {"initial_delay": 1, "timeout": 1, "failure_threshold": 1, "success_threshold": 1}
PLATFORM_REFERENCE = re.compile(r"\$\{\{\s*azureml://[^}]*\}\}")
# required keys az ml also takes from its own flags (``--name``, ``--endpoint-name``): missing, a warning
FROM_FLAGS = {"name": "--name", "endpoint_name": "--endpoint-name"}


def deployment(found: Deployment, workers: int, today: date | None = None) -> None:
    """Every rule the YAML breaks, each on a line of its own."""
    problems = [
        f"{found.path.name}:{line}: {problem}"
        for line, problem in (
            *_keys(found),
            *_names(found),
            *_requests(found, workers),
            *_probes(found),
            *_variables(found),
        )
    ]
    retired = _instance_type(found, today or date.today())
    problems += [f"{found.path.name}:{line}: {problem}" for line, problem in retired]
    if problems:
        raise CheckFailed("\n".join(problems))


def _keys(found: Deployment) -> list[tuple[int, str]]:
    """Keys azure-ai-ml's schema for this kind does not take (a misspelling is read as nothing here, and refused
    by az ml), then required ones that are missing."""
    schema = schema_keys.of(found)
    unknown = [
        (where, key, known)
        for where, known in schema.keys.items()
        for key in _at(found.data, where)
        if key not in known
    ]
    problems = [
        (found.line(*where, key), _unknown(".".join((*where, key)), found.kind, known))
        for where, key, known in unknown
    ]
    refused = "azure-ai-ml refuses the file: 'Missing data for required field.'"
    for key in (key for key in schema.required if key not in found.data):
        if key in FROM_FLAGS and found.kind != "deployment template":
            said = f"{found.path.name}: {key} is missing ({refused}; az ml takes it from {FROM_FLAGS[key]})"
            warnings.warn(pytest.PytestWarning(f"deployment: {said}"), stacklevel=1)
        else:
            problems.append((1, f"{key} is missing ({refused}, and so does az ml): add it"))
    return problems


def _unknown(dotted: str, kind: str, known: tuple[str, ...]) -> str:
    near = difflib.get_close_matches(dotted.rpartition(".")[2], known, n=1, cutoff=0.6)
    fix = f"did you mean {near[0]}?" if near else "remove it"
    refused = "azure-ai-ml, which az ml loads it with, refuses it: 'Unknown field.'"
    return f"{dotted} is not a key of a {kind} ({refused}): {fix}"


def _at(data: Table, keys: Keys) -> Table:
    for key in keys:
        data = _table(data.get(key))
    return data


def _names(found: Deployment) -> list[tuple[int, str]]:
    problems = []
    for key in ("name", "endpoint_name"):
        name = found.data.get(key)
        low, high = NAME_LENGTH
        if name is not None and (not NAME.match(str(name)) or not low <= len(str(name)) <= high):
            problems.append(
                (
                    found.line(key),
                    f"{key} {name!r} is not a name Azure ML takes: {low} to {high} letters, digits and "
                    "hyphens, starting with a letter and not ending with a hyphen",
                )
            )
    return problems


def _requests(found: Deployment, workers: int) -> list[tuple[int, str]]:
    settings, endpoint, problems = _table(found.data.get("request_settings")), found.endpoint, []
    if "request_timeout_ms" in settings and endpoint.request_timeout_ms > MAX_REQUEST_TIMEOUT_MS:
        problems.append(
            (
                found.line("request_settings", "request_timeout_ms"),
                f"request_timeout_ms {endpoint.request_timeout_ms} is over the {MAX_REQUEST_TIMEOUT_MS} a "
                "managed endpoint allows: the deployment is refused",
            )
        )
    if endpoint.max_concurrent_requests > workers:
        problems.append(
            (
                found.line("request_settings", "max_concurrent_requests_per_instance"),
                f"max_concurrent_requests_per_instance {endpoint.max_concurrent_requests} is more than the "
                f"server's {workers} worker(s): the requests wait inside one worker; set WORKER_COUNT to "
                f"{endpoint.max_concurrent_requests} in environment_variables, or lower it",
            )
        )
    return problems


def _probes(found: Deployment) -> list[tuple[int, str]]:
    problems = []
    for probe in ("liveness_probe", "readiness_probe"):
        for key, minimum in PROBE_MINIMUMS.items():
            value = _table(found.data.get(probe)).get(key)
            if isinstance(value, (int, float)) and value < minimum:
                problems.append(
                    (
                        found.line(probe, key),
                        f"{probe}.{key} is {value}, under its minimum of {minimum}",
                    )
                )
    success = _table(found.data.get("liveness_probe")).get("success_threshold")
    if isinstance(success, (int, float)) and success > 1:
        line = found.line("liveness_probe", "success_threshold")
        problems.append(
            (line, f"liveness_probe.success_threshold is {success}: the platform fixes it at 1")
        )
    return problems


def _variables(found: Deployment) -> list[tuple[int, str]]:
    return [
        (
            found.line("environment_variables", str(name)),
            f"environment_variables.{name} is a platform reference ({value}), which only the cloud resolves: "
            "init() here gets the text itself; give the real value in a copy of the YAML for local runs",
        )
        for name, value in _table(found.data.get("environment_variables")).items()
        if PLATFORM_REFERENCE.search(str(value))
    ]


def _instance_type(found: Deployment, today: date) -> list[tuple[int, str]]:
    """Every instance type the YAML names (a template's default and allowed ones too): in the managed SKU
    list, and not retired."""
    if is_kubernetes(found.data):
        return []
    problems = []
    for keys, name in found.instance_types():
        known, key = instance_types.find(name), ".".join(keys)
        if known is None:
            problem = (
                f"{key} {name!r} is not in the managed SKU list (reference-managed-online-endpoints-vm-sku-"
                f"list): {instance_types.closest(name)}"
            )
        elif known.retires is not None and known.retired(today):
            retires = known.retires
            problem = (
                f"{key} {name!r} was retired on {retires.on:%Y-%m-%d} ({retires.source}): the platform "
                f"can place no deployment on it; use {retires.replacement or 'a current instance type'}"
            )
        else:
            continue
        problems.append((found.line(*keys), problem))
    return problems


def _table(value: object) -> Table:
    return {str(key): item for key, item in value.items()} if isinstance(value, dict) else {}
