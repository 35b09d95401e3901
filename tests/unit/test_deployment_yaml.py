"""The deployment check: each platform rule fails on a YAML that breaks it, with the file and line, and the
bundled examples pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amlimage.checks.deployment_yaml import deployment as check
from pytest_amlimage.config import deployment_kinds
from pytest_amlimage.errors import CheckFailed

ROOT = Path(__file__).resolve().parents[2]
GOOD = "name: blue\nendpoint_name: my-endpoint\ninstance_type: Standard_DS3_v2\nenvironment:\n  image: x:1\n"


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "examples/deployment/deployment.yml",
        *sorted((Path(__file__).parent / "deployments").glob("*.yml")),
    ],
)
def test_the_examples_pass(path: Path) -> None:
    found = deployment_kinds.load(path)
    check(found, found.endpoint.workers({}))


@pytest.mark.parametrize(
    ("extra", "line", "problem"),
    [
        (
            "request_settings:\n  request_timeout_ms: 200000\n",
            7,
            "request_timeout_ms 200000 is over the 180000",
        ),
        (
            "request_settings:\n  max_concurrent_requests_per_instance: 4\n",
            7,
            "max_concurrent_requests_per_instance 4 is more than the server's 1 worker(s)",
        ),
        (
            "liveness_probe:\n  timeout: 0\n",
            7,
            "liveness_probe.timeout is 0, under its minimum of 1",
        ),
        (
            "readiness_probe:\n  initial_delay: 0\n",
            7,
            "readiness_probe.initial_delay is 0, under its minimum of 1",
        ),
        (
            "liveness_probe:\n  success_threshold: 2\n",
            7,
            "liveness_probe.success_threshold is 2: the platform fixes",
        ),
        (
            "environment_variables:\n  KEY: ${{azureml://connections/store/credentials/key}}\n",
            7,
            "environment_variables.KEY is a platform reference (${{azureml://connections/store/credentials/key}})",
        ),
    ],
)
def test_each_rule_fails_with_its_line(tmp_path: Path, extra: str, line: int, problem: str) -> None:
    path = tmp_path / "deployment.yml"
    path.write_text(GOOD + extra)
    found = deployment_kinds.load(path)
    with pytest.raises(CheckFailed) as failed:
        check(found, found.endpoint.workers({}))
    assert str(failed.value).startswith(f"deployment.yml:{line}: {problem}")


@pytest.mark.parametrize(
    ("yaml", "problem"),
    [
        (
            GOOD.replace("name: blue", "name: b"),
            "deployment.yml:1: name 'b' is not a name Azure ML takes",
        ),
        (
            GOOD.replace("my-endpoint", "my_endpoint-"),
            "deployment.yml:2: endpoint_name 'my_endpoint-' is not",
        ),
        (
            GOOD.replace("Standard_DS3_v2", "Standard_Z1"),
            "deployment.yml:3: instance_type 'Standard_Z1' is not in",
        ),
    ],
)
def test_names_and_the_instance_type(tmp_path: Path, yaml: str, problem: str) -> None:
    path = tmp_path / "deployment.yml"
    path.write_text(yaml)
    found = deployment_kinds.load(path)
    with pytest.raises(CheckFailed, match=problem.replace("(", r"\(").replace(")", r"\)")):
        check(found, 1)
