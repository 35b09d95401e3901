"""The rules the platform and Microsoft's own release gate enforce on an inference image.

Each rule reads a witness of the running image (the serving interpreter, its distributions, its
``os-release``, its run scripts) and names its source; the README lists them. A rule the facts cannot
decide is said, never guessed.

Sources: ``validate_build_logs.py`` in Azure/azureml-assets (``scripts/azureml-assets/azureml/assets/
environment/``) refuses a build with Python 3.8, a ``FROM`` of Ubuntu 20.04, or both ``azure-ai-ml`` and
``azureml-core``; azureml-inference-server-http 1.4.0 and later require Python 3.9; the v1 SDK
(``azureml-core``) left support on 2026-06-30; the ``AZUREML_EXTRA_*`` variables are documented only in
the v1 docs, as a preview. The 2026 breaks: setuptools 82.0.0 (2026-02) removed ``pkg_resources``, which
``azureml-core`` before 1.61.0.post2 imports on line 11 of ``azureml/core/__init__.py``
(MicrosoftLearning/mslearn-azure-ml#160: ``No module named 'pkg_resources'``); Microsoft's run script checks
for the server with ``pip show`` and stops with exit 100, so an image hardened by removing pip cannot start.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import pytest
from packaging.version import InvalidVersion, Version

from pytest_amlimage.endpoint import start_script
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Facts

OLDEST_PYTHON = Version("3.9")
OLDEST_UBUNTU = Version("22.04")  # the gate refuses 20.04; what came before it is older still
V1_END = "2026-06-30"
GATE = "Microsoft's release gate for its own environments (validate_build_logs.py) refuses it"


def _python(facts: Facts) -> tuple[list[str], list[str]]:
    """(failures, undecided) of the serving Python's version."""
    if not facts.python_version:
        return [], ["the serving Python's version is unknown (the probe found no Python)"]
    if Version(facts.python_version) >= OLDEST_PYTHON:
        return [], []
    return [
        f"the serving Python is {facts.python_version}: azureml-inference-server-http 1.4.0 and later need "
        "3.9, and the 1.3.x pip resolves instead imports azureml.contrib at start and crashes; "
        f"{GATE}: use Python 3.9 or later (3.12 in today's curated images)"
    ], []


def _ubuntu(release: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(failures, undecided) of the base's Ubuntu release, read from the image's os-release."""
    if not release:
        return [], ["the base's release is unknown: the image has no /etc/os-release"]
    if release.get("ID") != "ubuntu":
        return [], []  # the rule is about Ubuntu bases only
    try:
        version = Version(release.get("VERSION_ID", ""))
    except InvalidVersion:
        return [], [f"the Ubuntu release {release.get('VERSION_ID')!r} cannot be read"]
    if version >= OLDEST_UBUNTU:
        return [], []
    return [
        f"the base is Ubuntu {release.get('VERSION_ID')} (/etc/os-release): past its standard support, and "
        f"{GATE}: rebuild on a current prebuilt image (Ubuntu 22.04 or later)"
    ], []


def _sdks(facts: Facts, batch: bool) -> tuple[list[str], list[str]]:
    """(failures, warnings) of the Azure ML SDKs in the serving environment; a batch job needs azureml-core."""
    v1, v2 = facts.version_of("azureml-core"), facts.version_of("azure-ai-ml")
    if v1 and v2:
        return [
            f"azure-ai-ml {v2} and azureml-core {v1} are both in the serving environment: {GATE} ('use only "
            "one version of the AzureML SDK'); drop azureml-core (v1)"
        ], []
    if v1 and not batch:
        return [], [
            f"azureml-core {v1} (the v1 SDK) is in the serving environment: it left support on {V1_END}; "
            "a scoring script needs neither SDK, drop it or move to azure-ai-ml"
        ]
    return [], []


SETUPTOOLS_82 = "setuptools 82.0.0 removed pkg_resources"
# imported as the server starts (or scores)
SERVING = ("azureml-inference-server-http", "azureml-core")
# a folder put on PYTHONPATH: no install
INSTALL_FREE = ("AZUREML_EXTRA_PYTHON_LIB_PATH",)


def _pip(facts: Facts, set_by: Mapping[str, str]) -> list[str]:
    """pip missing from the serving environment while the start needs it: Microsoft's run script checks for
    the server with `pip show` (exit 100 without pip), the AZUREML_EXTRA_* chain pip-installs at start."""
    if facts.version_of("pip") or not facts.python_version:
        return []
    read = {name for names in facts.start_scripts.values() for name in names}
    installing = [name for name in set_by if name in read and name not in INSTALL_FREE]
    needs = [f"{script}:{line} runs pip" for script, line in sorted(facts.pip_at_start.items())]
    needs += [f"{name} ({set_by[name]}) makes it install at start" for name in sorted(installing)]
    if not needs:
        return []  # a start that needs no pip: removing it is the team's choice
    stops = (
        "the start script's `pip show azureml-inference-server-http` finds nothing and it stops with exit "
        "code 100, although the server is installed"
        if facts.pip_at_start
        else "the install fails at every start"
    )
    return [
        f"pip is not in the serving environment, but the start needs it: {'; '.join(needs)}. Without it "
        f"{stops}: keep pip in the image (the minimal images' environments carry it unpinned, "
        "Azure/azureml-assets #4793)"
    ]


def _pkg_resources(facts: Facts, batch: bool) -> tuple[list[str], list[str]]:
    """(failures, warnings) of distributions that import pkg_resources as they load, where it is gone: a
    failure on the serving path (the server, azureml-core, what the entry script imports), else a warning.
    In a batch job azureml-core's import is batch-env's to judge (the driver imports it as it starts)."""
    found = facts.pkg_resources
    if found.get("available", True):
        return [], []
    setuptools = facts.version_of("setuptools")
    gone = (
        f"setuptools {setuptools} has no pkg_resources" if setuptools else "no pkg_resources here"
    )
    entry = {name.split(".")[0] for name in facts.entry_script.get("imports") or []}
    failures: list[str] = []
    warnings_: list[str] = []
    for name, where in sorted(found.get("importers", {}).items()):
        if batch and name == "azureml-core":
            continue
        dist = facts.distributions.get(name)
        version = f"{dist.name} {dist.version}" if dist else name
        said = (
            f"{version} imports pkg_resources as it loads ({where}), but {gone} ({SETUPTOOLS_82}): "
            f"importing it fails; upgrade {name} to a release without pkg_resources"
            + (" (azureml-core 1.61.0.post2 and later)" if name == "azureml-core" else "")
            + ", or pin setuptools<82"
        )
        on_path = name in SERVING or bool(dist and entry & set(dist.top_level))
        (failures if on_path else warnings_).append(said)
    return failures, warnings_


def _azureml_core(facts: Facts) -> list[str]:
    """azureml-core installed but not importable (its own import's last line); pkg_resources said apart."""
    imported = facts.imports.get("azureml-core", {})
    error, version = imported.get("error"), facts.version_of("azureml-core")
    if not error or not version or "azureml-core" in facts.pkg_resources.get("importers", {}):
        return []
    return [f"azureml-core {version} is installed but `import azureml.core` fails: {error}"]


def _extra_installs(facts: Facts, set_by: Mapping[str, str]) -> list[str]:
    """Warnings for AZUREML_EXTRA_* variables: installs at every start, and what the start script ignores."""
    env = {name: "1" for name in set_by}
    named = ", ".join(f"{name} ({where})" for name, where in sorted(set_by.items()))
    if not named:
        return []
    readers = [path for path, names in facts.start_scripts.items() if names]
    said = (
        f"{named}: a v1-only preview that installs at every start and needs a network; the image should "
        "carry the packages"
    )
    if facts.start_scripts and not readers:
        return [
            f"{said}. This image's start script does not read them at all "
            f"({', '.join(sorted(facts.start_scripts))}: as in today's minimal images, the install chain is "
            "removed), so they do nothing"
        ]
    if not facts.start_scripts:
        return [f"{said}. The image runs no runit service that could read them, so they do nothing"]
    ignored = start_script.ignored_line(env)
    return [said + (f". {ignored}" if ignored else "")]


def platform(
    facts: Facts,
    *,
    image_env: Mapping[str, str],
    deployment_env: Mapping[str, str],
    batch: bool = False,
) -> None:
    """The serving Python, the base's Ubuntu, the SDKs, the dynamic-install variables and the 2026 toolchain
    breaks (pip removed, setuptools without pkg_resources), as the platform rules."""
    set_by = {name: "in the image" for name in start_script.EXTRA if image_env.get(name)}
    set_by.update(
        {name: "by the deployment" for name in start_script.EXTRA if deployment_env.get(name)}
    )
    failures, said = _pip(facts, set_by), []
    for found, other in (
        _python(facts),
        _ubuntu(facts.os_release),
        _sdks(facts, batch),
        _pkg_resources(facts, batch),
    ):
        failures += found
        said += other
    failures += [] if batch else _azureml_core(facts)
    said += _extra_installs(facts, set_by)
    for line in said:
        warnings.warn(pytest.PytestWarning(f"platform: {line}"), stacklevel=1)
    if failures:
        raise CheckFailed("\n".join(failures))
