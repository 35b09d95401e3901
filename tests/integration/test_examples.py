"""The bundled examples run as documented, and JUnit XML carries the image's facts."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from pytest_amlimage.config.options import OPTIONS

from .conftest import EXAMPLE, expect, green

pytestmark = pytest.mark.engine
EXAMPLES = EXAMPLE.parent


def test_extend_prebuilt_example_passes_with_its_spec(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-spec", str(EXAMPLE / "aml-image.toml"), "-rA", "--junitxml", "junit.xml"
    )
    green(result, "version[numpy]", "requirements", "liveness", "score[two-rows]", "swagger")


def test_mlflow_example_serves_the_model_with_no_code(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(f"--aml-spec={EXAMPLES / 'mlflow' / 'aml-image.toml'}", "-rA")
    green(result, "mlflow-model", "liveness", "score[input_example]", "swagger", "memory")


def test_deployment_example_serves_as_the_endpoint_would(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(f"--aml-spec={EXAMPLES / 'deployment' / 'aml-image.toml'}", "-rA")
    green(result, "entry-script", "score[two-rows]", "liveness-under-load", "concurrency", "memory")
    result.stdout.fnmatch_lines_random(
        ["*: memory peak * MiB (*) of 14336 MiB, Standard_DS3_v2 (4 vCPU, 14 GiB) (margin *)"]
    )
    result.stdout.fnmatch_lines_random(
        [
            "*: GET / answered after * s of a 310 s probe budget (margin * s)",
            "*: 2 requests at once: p50 * ms, p95 * ms",
        ]
    )


def test_batch_example_runs_the_job_and_its_outputs_come_back_beside_the_junit_report(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    spec = EXAMPLES / "batch" / "aml-image.toml"
    result = run_plugin(f"--aml-spec={spec}", "-rA", "--junitxml=reports/junit.xml")
    green(result, "batch-env", "batch-init", "batch-run", "batch-output", "memory")
    output = pytester.path / "reports" / "amlimage-batch" / "amlimage-batch-latest" / "azureml-bi"
    rows = (output / "output" / "predictions.csv").read_text().splitlines()
    data = sorted(path.name for path in (EXAMPLES / "batch" / "data").iterdir())
    assert [row.split(" ")[0] for row in rows] == data


def test_junit_xml_has_the_image_facts(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    run_plugin("--aml-image", images["extended"], "--junitxml", "junit.xml", "-k", "non-root")
    case = ET.parse(pytester.path / "junit.xml").getroot().find(".//testcase")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert properties["aml_image"] == images["extended"]
    assert properties["aml_image_id"].startswith("sha256:")
    assert properties["aml_python"].startswith("3.")
    assert properties["aml_cuda"] == "none"


def test_upgrade_check_example(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    spec = pytester.path / "aml-image.toml"
    spec.write_text(
        (EXAMPLES / "upgrade-check" / "aml-image.toml")
        .read_text()
        .replace("../extend-prebuilt", str(EXAMPLE))
    )
    result = run_plugin("--aml-spec", str(spec), "-k", "baseline", "-rA")
    expect(
        result,
        failed=["baseline[parity-two-rows]"],
        passed=["baseline[major]", "baseline[latency]"],
    )
    assert (
        "| upgraded | numpy | 1.26.4 | 2.1.3 |" in (pytester.path / "upgrade-report.md").read_text()
    )


@pytest.mark.parametrize("template", ["github-actions.yml", "azure-pipelines.yml"])
def test_ci_templates_use_real_options(template: str) -> None:
    text = (EXAMPLES / "ci" / template).read_text()
    used = set(re.findall(r"--aml-[a-z-]+", text))
    assert used and used <= {option.flag for option in OPTIONS}
    assert "--junitxml" in text
