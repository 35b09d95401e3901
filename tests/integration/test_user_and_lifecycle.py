"""The plugin against real containers of the stand-in images."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest

from pytest_amlimage.engine.docker_engine import PID_LABEL, PLUGIN_LABEL

from .conftest import expect, green, own_tests

pytestmark = pytest.mark.engine


def test_extended_example_passes_every_builtin_check(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin("--aml-image", images["extended"], "-v")
    green(result, "non-root", "app-permissions", "pip-check", "liveness", "stable")
    result.stdout.fnmatch_lines(
        [
            f"{images['extended']}::non-root PASSED*",
            f"{images['extended']}::liveness PASSED*",
        ]
    )


def test_forgotten_switch_back_fails_non_root_with_the_fix(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin("--aml-image", images["rootuser"])
    expect(result, failed=["non-root"], passed=["app-permissions", "pip-check"])
    result.stdout.fnmatch_lines(
        [
            "non-root: image runs as root (Config.User is 'root:root'); "
            "add `USER dockeruser` after your root steps",
            "FAILED *rootuser:latest::non-root - non-root: image runs as root*",
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_each_image_gets_every_check(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(
        "--aml-image", images["minimal"], "--aml-image", images["extended"], "--collect-only", "-q"
    )
    for image in (images["minimal"], images["extended"]):
        result.stdout.fnmatch_lines(
            [f"{image}::non-root", f"{image}::pip-check", f"{image}::swagger"]
        )


def test_ini_configures_and_the_command_line_wins(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makeini(f"[pytest]\naml_image = {images['rootuser']}\n")
    from_ini = run_plugin("--collect-only", "-q")
    from_ini.stdout.fnmatch_lines([f"{images['rootuser']}::non-root"])
    overridden = run_plugin("--aml-image", images["minimal"], "--collect-only", "-q")
    overridden.stdout.no_fnmatch_line(f"{images['rootuser']}*")
    overridden.stdout.fnmatch_lines([f"{images['minimal']}::non-root"])


USER_TESTS = """
def test_exec_user_env(aml_container, aml_image):
    result = aml_container.exec(["id", "-un"])
    assert (result.exit_code, result.output.strip()) == (0, "dockeruser")
    assert aml_container.user == "dockeruser"
    assert aml_container.env["AZUREML_ENTRY_SCRIPT"] == "score.py"
    assert aml_container.host_port(5001) > 0
    assert aml_image.endswith("extended:latest")

def test_environment(aml_environment):
    assert aml_environment.version_of("numpy") == "1.26.4"
    assert aml_environment.user_name == "dockeruser"

def test_scoring(aml_scoring, aml_container):
    reply = aml_scoring.score({"data": [[1.0, 2.0, 3.0]]})
    assert reply.status_code == 200
    assert reply.json() == {"predictions": [4.1]}
    assert "POST /score" in aml_container.logs()
"""


def test_fixtures_share_one_container_with_the_builtin_checks(
    run_plugin: Any, pytester: pytest.Pytester, engine: Any, images: dict[str, str]
) -> None:
    pytester.makepyfile(test_user=USER_TESTS)
    since = time.time()
    result = run_plugin("--aml-image", images["extended"])
    green(result, "non-root", "liveness")
    assert own_tests(result) == ["passed"] * 3
    events = engine.events(
        since=since,
        until=time.time(),
        decode=True,
        filters={
            "type": "container",
            "event": "create",
            "label": [PLUGIN_LABEL, f"{PID_LABEL}={os.getpid()}"],
        },
    )
    assert len(list(events)) == 1


def test_fixtures_without_an_image_fail_with_the_remedy(
    run_plugin: Any, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile("def test_it(aml_container):\n    pass\n")
    result = run_plugin()
    assert own_tests(result) == ["error"]
    result.stdout.fnmatch_lines(["*no image under test: pass --aml-image IMAGE*"])
