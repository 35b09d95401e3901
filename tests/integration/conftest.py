"""Real engine, real stand-in images. Without an engine these tests skip locally and fail under CI."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from pytest_amlimage.engine.docker_engine import PID_LABEL, PLUGIN_LABEL

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
EXAMPLE = ROOT / "examples" / "extend-prebuilt"
# a hardened image's last step: pip removed from the environment (as root, then the user again)
NO_PIP = "USER root:root\nRUN python -m pip uninstall -y -q pip\nUSER dockeruser\n"


def _standins_module() -> Any:
    spec = importlib.util.spec_from_file_location("standins", ROOT / "scripts" / "standins.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["standins"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def engine() -> Any:
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as error:
        unavailable(f"no Docker engine answers ({error}); run scripts/engine.sh")
    return client


def unavailable(message: str) -> NoReturn:
    """A part the test needs is missing here: a failure under CI, else a skip."""
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def images(engine: Any) -> dict[str, str]:
    """Every stand-in, built once (cached by content hash)."""
    module = _standins_module()
    return {name: module.ensure(engine, name) for name in module.STANDINS}


def our_containers(engine: Any) -> list[Any]:
    """Containers the plugin started from this process (in-process pytester runs) that still exist."""
    filters = {"label": [PLUGIN_LABEL, f"{PID_LABEL}={os.getpid()}"]}
    return list(engine.containers.list(all=True, filters=filters))


def run_built(run_plugin: Any, pytester: pytest.Pytester, dockerfile: str, *options: str) -> Any:
    """The plugin on an image built from ``dockerfile`` (its text; any base), tagged for this test alone (two
    workers never share a tag) and removed afterwards."""
    pytester.makefile("", Dockerfile=dockerfile)
    tag = f"amlimage/test-built-{hashlib.sha1(str(pytester.path).encode()).hexdigest()[:12]}:1"
    build = ("--aml-build=Dockerfile", f"--aml-image={tag}", "--aml-rm-built", "--aml-any-base")
    return run_plugin(*build, *options)


def deployment_yaml(
    pytester: pytest.Pytester, image: str, app: str, variables: str = "", extra: str = ""
) -> str:
    """``--aml-deployment`` for a YAML that serves ``apps/APP/score.py`` on ``image``.

    ``variables``: lines of ``environment_variables`` (indented); ``extra``: more of the YAML's own keys.
    """
    settings = f"environment_variables:\n{variables}" if variables else ""
    pytester.makefile(
        ".yml",
        deployment=f"environment:\n  image: {image}\ncode_configuration:\n  code: {APPS / app}\n"
        f"  scoring_script: score.py\n{settings}{extra}",
    )
    return f"--aml-deployment={pytester.path / 'deployment.yml'}"


class Outcomes:
    """A plugin for the inner run: each item's outcome by node id (a failed setup or teardown is an error)."""

    def __init__(self) -> None:
        self.by_node: dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            self.by_node[report.nodeid] = report.outcome
        elif not report.passed:
            self.by_node[report.nodeid] = "error" if report.failed else report.outcome


def checks(result: pytest.RunResult, image: str | None = None) -> dict[str, str]:
    """The built-in checks' outcomes by check id (of ``image``, or of the only image checked)."""
    found: dict[str, dict[str, str]] = {}
    for node, outcome in result.outcomes_by_node.items():  # type: ignore[attr-defined]
        reference, _, check = node.partition("::")
        if check and not reference.endswith(".py"):
            found.setdefault(reference, {})[check] = outcome
    if image is None:
        assert len(found) <= 1, f"checks of several images ran: {sorted(found)}; name one"
        return next(iter(found.values()), {})
    return found.get(image, {})


def own_tests(result: pytest.RunResult) -> list[str]:
    """The outcomes of the users' own test functions, in the order they ran."""
    return [o for node, o in result.outcomes_by_node.items() if ".py::" in node]  # type: ignore[attr-defined]


def expect(result: pytest.RunResult, image: str | None = None, **wanted: list[str]) -> None:
    """Each named check had the outcome it is listed under: ``expect(result, passed=[...], failed=[...])``."""
    found = checks(result, image)
    got = {check: found.get(check, "not run") for names in wanted.values() for check in names}
    assert got == {check: outcome for outcome, names in wanted.items() for check in names}, (
        result.stdout.str()[-3000:]
    )


def green(result: pytest.RunResult, *passed: str) -> None:
    """No check failed or errored, and the ones named passed (a right skip, such as base-age, may remain)."""
    found = checks(result)
    assert found and not [c for c, outcome in found.items() if outcome in ("failed", "error")], (
        found
    )
    expect(result, passed=list(passed))


@pytest.fixture
def run_plugin(pytester: pytest.Pytester, engine: Any, images: dict[str, str]) -> Iterator[Any]:
    """Run pytest with the plugin in-process; afterwards, no container of ours may be left.

    The result carries ``outcomes_by_node``, which ``checks``, ``expect`` and ``green`` read.
    """

    # keep this repository's own configuration out of the inner runs
    ini = pytester.makeini("[pytest]\n")

    def run(*args: str) -> pytest.RunResult:
        recorded = Outcomes()
        result = pytester.runpytest(
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(pytester.path),
            "-c",
            str(ini),
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            *args,
            plugins=[recorded],
        )
        result.outcomes_by_node = recorded.by_node  # type: ignore[attr-defined]
        return result

    yield run
    assert our_containers(engine) == []
