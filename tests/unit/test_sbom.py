"""The bill of materials (CycloneDX, validated) and the OS packages in a comparison (reported, not judged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_amlimage.checks.baseline import no_removed
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Distribution, Facts
from pytest_amlimage.probe.sbom import path_for, write_sbom
from pytest_amlimage.probe.snapshot import diff, snapshot

FACTS = Facts(
    uid=1000,
    python_version="3.11.2",
    os_release={"ID": "debian", "VERSION_ID": "12"},
    distributions={
        "numpy": Distribution("numpy", "1.26.4"),
        "pandas": Distribution("pandas", "2.2.3"),
    },
    os_packages={
        "manager": "dpkg",
        "packages": {
            "python3": {"version": "3.11.2-1+b1", "arch": "amd64"},
            "jq": {"version": "1.6-2.1", "arch": "amd64"},
        },
    },
)


def test_the_bill_lists_python_and_os_packages_with_package_urls(tmp_path: Path) -> None:
    path = tmp_path / "sbom.json"
    write_sbom(path, "amlimage/minimal:latest", ImageInfo(id="sha256:abc"), FACTS)
    document = json.loads(path.read_text())
    assert document["bomFormat"] == "CycloneDX" and document["specVersion"] == "1.6"
    purls = {c["name"]: c["purl"] for c in document["components"]}
    assert purls["numpy"] == "pkg:pypi/numpy@1.26.4"
    assert purls["python3"] == "pkg:deb/debian/python3@3.11.2-1%2Bb1?arch=amd64&distro=debian-12"
    assert document["metadata"]["component"]["name"] == "amlimage/minimal:latest"


def test_a_bill_needs_the_probes_facts(tmp_path: Path) -> None:
    with pytest.raises(
        CheckFailed, match="no bill of materials: the probe could not read the image"
    ):
        write_sbom(
            tmp_path / "s.json", "x:1", ImageInfo(), Facts(uid=None, python_error="no python")
        )


def test_several_images_get_a_bill_each() -> None:
    assert path_for(Path("out/sbom.json"), "amlimage/minimal:latest", several=False) == Path(
        "out/sbom.json"
    )
    assert path_for(Path("out/sbom.json"), "amlimage/minimal:latest", several=True) == Path(
        "out/sbom-amlimage-minimal-latest.json"
    )


def test_os_packages_are_in_the_diff_but_not_in_the_python_policies() -> None:
    old = snapshot(FACTS, ImageInfo(), None, None)
    packages = {
        "python3": {"version": "3.11.2-1+b1", "arch": "amd64"},
        "curl": {"version": "7.88.1-10", "arch": "amd64"},
    }
    new_facts = Facts(
        uid=1000,
        python_version="3.11.2",
        distributions=FACTS.distributions,
        os_packages={"manager": "dpkg", "packages": packages},
    )
    changes = diff(old, snapshot(new_facts, ImageInfo(), None, None))
    shown = [(c.kind, c.shown) for c in changes if c.ecosystem == "deb"]
    assert shown == [("added", "curl (deb)"), ("removed", "jq (deb)")]
    # jq's removal is not judged
    no_removed([c for c in changes if c.ecosystem == "pypi"], (), "baseline x:0")


def test_a_lock_written_before_os_packages_were_kept_compares_python_only() -> None:
    old = {k: v for k, v in snapshot(FACTS, ImageInfo(), None, None).items() if k != "os_packages"}
    assert diff(old, snapshot(FACTS, ImageInfo(), None, None)) == []
