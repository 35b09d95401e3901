"""Deployment templates run as the platform runs them: the template's probes, scoring route and instance
types, on the stand-ins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import APPS, expect, green

pytestmark = pytest.mark.engine
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "template"


def template(pytester: pytest.Pytester, text: str) -> str:
    """``--aml-deployment`` for a template of this text."""
    pytester.makefile(".yml", template=text)
    return f"--aml-deployment={pytester.path / 'template.yml'}"


def changed(**lines: str) -> str:
    """The example template with some of its lines replaced."""
    text = (EXAMPLE / "template.yml").read_text()
    for old, new in lines.items():
        assert old in text
        text = text.replace(old, new)
    return text


def test_a_good_template_serves_and_scores(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(f"--aml-spec={EXAMPLE / 'aml-image.toml'}")
    green(result, "deployment", "liveness", "probe-budget", "score[two-rows]", "memory")
    result.stdout.fnmatch_lines_random(
        ["*Standard_DS2_v2 * MiB  fits", "*Standard_DS3_v2 * MiB  fits"]
    )


def test_microsofts_health_and_ready_probes_fail_liveness_naming_the_route(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """The reference's probes on /health and /ready: azureml-inference-server-http serves neither, and the
    run says so as soon as the server is up, not after the 310 s budget."""
    live, ready = (EXAMPLE / "template.yml").read_text().split("readiness_probe:")
    text = live.replace("  path: /\n", "  path: /health\n") + "readiness_probe:"
    args = template(pytester, text + ready.replace("  path: /\n", "  path: /ready\n"))
    result = run_plugin(args, f"--aml-image={images['extended']}")
    expect(result, failed=["liveness"], skipped=["readiness", "probe-budget"])
    result.stdout.fnmatch_lines(
        [
            "*liveness: GET /health on port 5001 answered 404, while the server is up (GET / answers 200): "
            "azureml-inference-server-http serves only GET /, GET /swagger.json and POST /score*"
        ]
    )
    assert result.duration < 60


def test_an_allowed_type_too_small_for_init_fails_memory_for_that_type_only(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """init() holds 4000 MiB: measured on the largest allowed type (DS2_v2, 7 GiB), DS1_v2's 3.5 GiB is short."""
    text = changed(
        **{
            "  - Standard_DS2_v2\n  - Standard_DS3_v2\n": "  - Standard_DS1_v2\n  - Standard_DS2_v2\n",
            'WORKER_COUNT: "2"': 'WORKER_COUNT: "1"\n  INIT_MB: "4000"',
        }
    )
    args = template(pytester, text)
    entry = f"--aml-entry-script={APPS / 'hungry' / 'score.py'}"
    result = run_plugin(args, f"--aml-image={images['minimal']}", entry, "-k", "memory or liveness")
    expect(result, passed=["liveness"], failed=["memory"])
    result.stdout.fnmatch_lines(
        [
            "*memory: peak memory * MiB (*) does not fit every allowed instance type: Standard_DS1_v2 has 3584 MiB.*"
        ]
    )
    assert "Standard_DS2_v2 has" not in result.stdout.str()


def test_a_deployment_on_a_retired_instance_type_fails_deployment(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makefile(
        ".yml",
        deployment=f"environment:\n  image: {images['minimal']}\ninstance_type: Standard_NC6s_v3\n",
    )
    result = run_plugin(f"--aml-deployment={pytester.path / 'deployment.yml'}", "-k", "deployment")
    expect(result, failed=["deployment"])
    result.stdout.fnmatch_lines(
        [
            "*deployment: deployment.yml:3: instance_type 'Standard_NC6s_v3' was retired on 2025-09-30 (*): "
            "the platform can place no deployment on it; use Standard_NC24ads_A100_v4"
        ]
    )


@pytest.mark.parametrize(("path", "outcome"), [("/swagger.json", "passed"), ("/ready", "failed")])
def test_a_readiness_probe_of_its_own_is_sent_where_the_template_says(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], path: str, outcome: str
) -> None:
    """A route the server serves answers the readiness probe (no alarm); one it does not is named."""
    live, ready = (EXAMPLE / "template.yml").read_text().split("readiness_probe:")
    args = template(
        pytester, live + "readiness_probe:" + ready.replace("  path: /\n", f"  path: {path}\n")
    )
    result = run_plugin(args, f"--aml-image={images['extended']}", "-k", "liveness or readiness")
    expect(result, passed=["liveness"])
    expect(result, **{outcome: ["readiness"]})
    if outcome == "failed":
        result.stdout.fnmatch_lines(
            [
                "readiness: GET /ready on port 5001 answered 404, while the server is up (GET / answers 200): "
                "azureml-inference-server-http serves only GET /, GET /swagger.json and POST /score*"
            ]
        )


@pytest.mark.parametrize("probe", ["readiness", "liveness"])
def test_a_probe_on_a_port_where_nothing_listens_names_both_ports(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], probe: str
) -> None:
    """The probe's port 8080 is published, but the server listens on 5001: named with the template line, not
    as a reset, and as soon as the server is up (not after the liveness budget)."""
    live, ready = (EXAMPLE / "template.yml").read_text().split("readiness_probe:")
    if probe == "readiness":
        ready = ready.replace("  port: 5001\n", "  port: 8080\n")
    else:
        live = live.replace("  path: /\n  port: 5001\n", "  path: /\n  port: 8080\n")
    text = live + "readiness_probe:" + ready
    line = text.splitlines().index("  port: 8080") + 1
    args = template(pytester, text)
    result = run_plugin(args, f"--aml-image={images['extended']}", "-k", "liveness or readiness")
    expect(result, failed=[probe])
    if probe == "readiness":
        expect(result, passed=["liveness"])
    result.stdout.fnmatch_lines(
        [
            f"{probe}: the {probe} probe's port 8080 (template.yml:{line} {probe}_probe.port) has nothing "
            "listening, while the server listens on port 5001 (GET / answers there)*"
        ]
    )
    assert "ConnectionResetError" not in result.stdout.str()
    assert result.duration < 60
