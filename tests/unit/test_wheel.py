"""What users install is what the code reads: every data file the package opens ships in its wheel."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pytest_amlimage"
# resources.files(__package__).joinpath("catalog.json"): a data file read beside its module
READ = re.compile(r"resources\.files\(__package__\)\.joinpath\(\"([^\"]+)\"\)")


def read_data_files() -> set[str]:
    """The files the package reads through importlib.resources, as paths inside the wheel."""
    found = set()
    for module in PACKAGE.rglob("*.py"):
        folder = module.parent.relative_to(ROOT).as_posix()
        for name in READ.findall(module.read_text()):
            read = module.parent / name  # a folder read file by file (the probe's parts): each file
            files = sorted(read.glob("*.py")) if read.is_dir() else [read]
            found |= {f"{folder}/{file.relative_to(module.parent).as_posix()}" for file in files}
    return found | {"pytest_amlimage/py.typed"}


def installed_from_wheel() -> set[str] | None:
    """The installed distribution's files, when it was installed from a wheel (None: an editable install,
    whose record holds a path finder instead of the package)."""
    (plugin,) = metadata.entry_points(group="pytest11", name="amlimage")  # the one pytest loaded
    assert plugin.dist is not None
    files = {path.as_posix() for path in plugin.dist.files or []}
    return files if "pytest_amlimage/__init__.py" in files else None


def built_wheel(tmp_path: Path) -> set[str]:
    """The files of a wheel built now from a copy of the source tree (an editable install has none to read;
    a build in the tree itself would leave its egg-info there)."""
    import shutil
    import zipfile

    source = tmp_path / "source"
    shutil.copytree(PACKAGE, source / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "-q",
        "-w",
        str(tmp_path),
        str(source),
    ]
    subprocess.run(command, check=True, capture_output=True)
    (wheel,) = tmp_path.glob("*.whl")
    return set(zipfile.ZipFile(wheel).namelist())


def test_the_scan_finds_every_data_file_in_the_tree() -> None:
    """The scan is the test's premise: it finds the four data files, each of which exists."""
    found = read_data_files()
    assert {
        "pytest_amlimage/config/instance_types.json",
        "pytest_amlimage/probe/launcher.sh",
    } <= found
    assert all((ROOT / name).is_file() for name in found)


def test_every_data_file_read_is_in_the_wheel(tmp_path: Path) -> None:
    shipped = installed_from_wheel() or built_wheel(tmp_path)
    assert sorted(read_data_files() - shipped) == []


def test_the_suite_tests_the_installed_wheel() -> None:
    """Under tox the package is imported from the installed wheel, not from this source tree."""
    import pytest_amlimage

    if installed_from_wheel() is None and not os.environ.get("CI"):
        pytest.skip(
            "an editable install: tox installs the wheel (and CI must), and there this test holds"
        )
    assert PACKAGE not in Path(pytest_amlimage.__file__).resolve().parents
