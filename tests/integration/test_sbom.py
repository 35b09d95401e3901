"""The bill of materials of a real image, and the OS packages a candidate adds against its baseline."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .conftest import expect, run_built

pytestmark = pytest.mark.engine


def test_the_bill_validates_and_names_the_serving_numpy_and_the_python3_package(
    run_plugin: Any, pytester: pytest.Pytester, engine: Any, images: dict[str, str]
) -> None:
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    result = run_plugin(
        "--aml-image", images["minimal"], f"--aml-sbom={pytester.path / 'sbom.json'}", "-k", "sbom"
    )
    expect(result, passed=["sbom"])
    text = (pytester.path / "sbom.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    found = {c["name"]: c for c in json.loads(text)["components"]}
    query = ["dpkg-query", "-W", "-f", "${Version}", "python3"]
    container = engine.containers.create(images["minimal"], query, mem_limit="256m")
    try:  # the package manager's own word on the version (run, waited for, then read: no lost output)
        container.start()
        container.wait(timeout=60)
        python3 = container.logs().decode()
    finally:
        container.remove(force=True)
    assert python3 and found["python3"]["version"] == python3
    assert found["python3"]["purl"].startswith("pkg:deb/debian/python3@")
    # the stand-in's pin, in the environment that serves
    assert (
        found["numpy"]["version"] == "1.26.4" and found["numpy"]["purl"] == "pkg:pypi/numpy@1.26.4"
    )


def test_an_os_package_the_candidate_adds_is_in_the_changes(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    dockerfile = (
        f"FROM {images['minimal']}\nUSER root:root\nRUN apt-get update && apt-get install -y "
        "--no-install-recommends jq && rm -rf /var/lib/apt/lists/*\nUSER dockeruser\n"
    )
    baseline = f"--aml-baseline={images['minimal']}"
    result = run_built(run_plugin, pytester, dockerfile, baseline, "-k", "baseline and removed")
    expect(result, passed=["baseline[removed]"])
    result.stdout.fnmatch_lines(["*added      jq (deb)*-> *"])
