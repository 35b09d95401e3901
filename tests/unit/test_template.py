"""Deployment templates read as the platform reads them: told apart from a deployment, their probes, scoring
route and request settings applied, every spelling of the instance list, and what the platform refuses refused
with its line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pytest_amlimage.checks import deployment_yaml
from pytest_amlimage.config import deployment, deployment_kinds, instance_types
from pytest_amlimage.config.deployment import Route
from pytest_amlimage.errors import AmlUsageError, CheckFailed

SCHEMA = "$schema: https://azuremlschemas.azureedge.net/latest/deploymentTemplate.schema.json\n"
REGISTRY = "azureml://registries/team/environments/scoring/versions/3"
GOOD = f"""{SCHEMA}name: scoring-template
version: 1
deployment_template_type: Managed
environment: {REGISTRY}
instance_count: 1
default_instance_type: Standard_DS3_v2
allowed_instance_types:
  - Standard_DS2_v2
  - Standard_DS3_v2
environment_variables:
  WORKER_COUNT: "2"
scoring_path: /score
scoring_port: 5001
request_settings:
  request_timeout_ms: 10000
  max_concurrent_requests_per_instance: 2
liveness_probe:
  initial_delay: 30
  path: /
  port: 5001
  method: GET
  scheme: HTTP
readiness_probe:
  initial_delay: 10
  path: /
  port: 5001
"""


def load(tmp_path: Path, text: str) -> deployment.Deployment:
    path = tmp_path / "template.yml"
    path.write_text(text)
    return deployment_kinds.load(path)


def test_a_template_is_run_as_the_deployment_it_describes(tmp_path: Path) -> None:
    found = load(tmp_path, GOOD)
    endpoint = found.endpoint
    assert found.kind == "deployment template"
    assert found.allowed_instance_types == ("Standard_DS2_v2", "Standard_DS3_v2")
    assert endpoint.scoring_route == Route("/score", 5001, "POST")
    assert endpoint.liveness_route == Route("/", 5001, "GET")
    assert (
        endpoint.liveness_probe.initial_delay == 30 and endpoint.readiness_probe.initial_delay == 10
    )
    assert (endpoint.request_timeout_ms, endpoint.max_concurrent_requests) == (10000, 2)
    assert endpoint.environment == {"WORKER_COUNT": "2"} and not endpoint.custom_container
    assert found.options == {"instance_type": "Standard_DS3_v2"}  # measured on the largest allowed


def test_microsofts_probes_are_sent_where_the_template_says(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  path: /\n  port: 5001\n  method: GET\n", "  path: /health\n  port: 5001\n  method: GET\n"
    )
    text = text.replace(
        "readiness_probe:\n  initial_delay: 10\n  path: /\n",
        "readiness_probe:\n  initial_delay: 10\n  path: /ready\n",
    )
    endpoint = load(tmp_path, text).endpoint
    assert (endpoint.liveness_route.path, endpoint.readiness_route.path) == ("/health", "/ready")


@pytest.mark.parametrize(
    "spelling",
    [
        "allowed_instance_types:\n  - Standard_DS2_v2\n  - Standard_DS3_v2\n",
        "allowed_instance_type: [Standard_DS2_v2, Standard_DS3_v2]\n",
        "allowedInstanceType:\n  - Standard_DS2_v2\n  - Standard_DS3_v2\n",
    ],
)
def test_every_documented_spelling_of_the_instance_list_is_read(
    tmp_path: Path, spelling: str
) -> None:
    text = GOOD.replace(
        "allowed_instance_types:\n  - Standard_DS2_v2\n  - Standard_DS3_v2\n", spelling
    )
    assert load(tmp_path, text).allowed_instance_types == ("Standard_DS2_v2", "Standard_DS3_v2")


@pytest.mark.parametrize(
    ("change", "line", "said"),
    [
        (
            ("environment: " + REGISTRY, "environment: azureml:scoring:3"),
            5,
            "a workspace environment",
        ),
        (("environment: " + REGISTRY, "environment:\n  image: x:1"), 5, "an inline environment"),
        (
            ("deployment_template_type: Managed", "deployment_template_type: Kubernetes"),
            4,
            "Managed",
        ),
        (
            ("default_instance_type: Standard_DS3_v2", "default_instance_type: Standard_DS4_v2"),
            7,
            "allowed",
        ),
        (("  scheme: HTTP", "  scheme: HTTPS"), 23, "plain http"),
    ],
)
def test_what_the_platform_refuses_is_one_line_naming_file_and_line(
    tmp_path: Path, change: tuple[str, str], line: int, said: str
) -> None:
    with pytest.raises(AmlUsageError, match=f"template.yml:{line} .*{said}"):
        load(tmp_path, GOOD.replace(*change))


def test_a_retired_instance_type_fails_the_deployment_check_with_its_date_and_replacement(
    tmp_path: Path,
) -> None:
    found = load(tmp_path, GOOD.replace("  - Standard_DS2_v2\n", "  - Standard_NC6s_v3\n"))
    with pytest.raises(CheckFailed) as failed:
        deployment_yaml.deployment(found, 2, today=date(2026, 12, 6))
    assert str(failed.value) == (
        "template.yml:8: allowed_instance_types 'Standard_NC6s_v3' was retired on 2025-09-30 "
        "(https://learn.microsoft.com/azure/virtual-machines/ncv3-nc6s-nc12s-nc24s-retirement): the platform "
        "can place no deployment on it; use Standard_NC24ads_A100_v4"
    )
    deployment_yaml.deployment(load(tmp_path, GOOD), 2, today=date(2026, 12, 6))


def test_which_skus_fit_never_recommends_a_retired_one() -> None:
    retired = instance_types.find("Standard_NC6s_v3")
    assert retired is not None and retired.retired(date(2026, 12, 6))
    assert not retired.retired(date(2025, 9, 29))
    assert all(not t.retired() for t in instance_types.fitting(100 * 1024**3, limit=50))
    ds2 = instance_types.find("Standard_DS2_v2")
    assert ds2 is not None and ds2.retires is not None and str(ds2.retires.on) == "2028-05-01"
