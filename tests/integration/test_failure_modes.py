"""Broken images, signals, leftovers, safe defaults and parallel runs, against a real engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from pytest_amlimage.config.settings import Settings
from pytest_amlimage.engine import container as containers
from pytest_amlimage.engine.docker_engine import PID_LABEL, PLUGIN_LABEL, run_labels
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.run.launch import plan_launch

from .conftest import expect, own_tests

pytestmark = pytest.mark.engine

SLEEPING_TEST = """
import time

def test_sleeps(aml_container):
    print("container", aml_container.id, flush=True)
    time.sleep(120)
"""


def labelled(engine: Any, **labels: str) -> list[str]:
    """Ids of the plugin's containers with ``labels`` (one listing: no inspect of each, which may be gone by then)."""
    wanted = [PLUGIN_LABEL] + [f"{key}={value}" for key, value in labels.items()]
    return [found["Id"] for found in engine.api.containers(all=True, filters={"label": wanted})]


@pytest.fixture
def start_sleeping_run(
    pytester: pytest.Pytester,
) -> Iterator[Callable[[str], subprocess.Popen[str]]]:
    """Start a pytest run whose test sleeps with a container up; killed at teardown whatever the test did."""
    runs: list[subprocess.Popen[str]] = []

    def start(image: str) -> subprocess.Popen[str]:
        pytester.makepyfile(test_sleep=SLEEPING_TEST)
        pytester.makeini("[pytest]\n")
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-s",
            "--aml-image",
            image,
            "-k",
            "sleeps",
        ]
        runs.append(
            subprocess.Popen(
                command,
                cwd=pytester.path,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
        return runs[-1]

    yield start
    for run in runs:
        if run.poll() is None:
            run.kill()
            run.communicate(timeout=30)


def wait_for_container(engine: Any, pid: int) -> None:
    deadline = time.monotonic() + 60
    while not labelled(engine, **{PID_LABEL: str(pid)}):
        assert time.monotonic() < deadline, "the run never started its container"
        time.sleep(0.1)
    time.sleep(1)  # let the test body start sleeping


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signals_remove_the_container(
    start_sleeping_run: Callable[[str], subprocess.Popen[str]],
    engine: Any,
    images: dict[str, str],
    signum: int,
) -> None:
    run = start_sleeping_run(images["extended"])
    wait_for_container(engine, run.pid)
    run.send_signal(signum)
    output, _ = run.communicate(timeout=60)
    assert run.returncode != 0
    assert labelled(engine, **{PID_LABEL: str(run.pid)}) == [], output


def test_a_start_interrupted_once_the_engine_started_it_leaves_nothing(
    engine: Any, images: dict[str, str]
) -> None:
    """Ctrl-C after the engine started the container, before the run holds it (reading its address)."""
    tag = uuid.uuid4().hex

    def interrupted(wrapped: Any) -> str:
        raise KeyboardInterrupt

    plan = plan_launch(Settings(), images["minimal"], ImageInfo())
    with pytest.raises(KeyboardInterrupt):
        # not a leftover
        containers.start(plan, {**run_labels(tag, time.time()), "test-run": tag}, interrupted)
    assert labelled(engine, **{"test-run": tag}) == []


def test_a_later_run_removes_what_a_killed_run_left(
    run_plugin: Any,
    start_sleeping_run: Callable[[str], subprocess.Popen[str]],
    engine: Any,
    images: dict[str, str],
) -> None:
    run = start_sleeping_run(images["minimal"])
    wait_for_container(engine, run.pid)
    run.kill()
    run.wait(timeout=30)
    # SIGKILL: nothing could clean up
    assert len(labelled(engine, **{PID_LABEL: str(run.pid)})) == 1
    run_plugin("--aml-image", images["minimal"], "--collect-only")
    assert labelled(engine, **{PID_LABEL: str(run.pid)}) == []


SAFETY_TEST = """
import docker

def test_safe_defaults(aml_container):
    host = docker.from_env().api.inspect_container(aml_container.id)["HostConfig"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["Privileged"] is False
    assert host["Memory"] == 4 * 1024**3 and host["NanoCpus"] == 2 * 10**9
    assert all(bind.endswith(":ro") for bind in host["Binds"] or [])
    assert not any("docker.sock" in bind for bind in host["Binds"] or [])
    env = aml_container.env
    assert "HOME" not in env or env["HOME"] != __import__("os").environ.get("HOME")
    assert not set(env) & {"PYTEST_CURRENT_TEST", "CI", "DOCKER_HOST"}
"""


def test_containers_run_with_safe_defaults(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makepyfile(test_safety=SAFETY_TEST)
    result = run_plugin(
        "--aml-image", images["minimal"], "--aml-model-dir", str(pytester.path), "-k", "safe"
    )
    assert own_tests(result) == ["passed"]


def test_entrypoint_exiting_at_once(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(
        "--aml-image",
        images["extended"],
        "--aml-command",
        "false",
        "--aml-expect",
        "numpy>=1",
        "-rA",
    )
    result.stdout.fnmatch_lines_random(
        [
            "*liveness: the container exited with code 1 before the server answered GET /",
            "PASSED *::version?numpy?",  # the facts come from a container of their own
        ]
    )
    result.stdout.no_fnmatch_line("*Traceback*")


def test_server_that_never_opens_the_port(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(
        "--aml-image", images["extended"], "--aml-command", "sleep 600", "--aml-ready-timeout", "1"
    )
    result.stdout.fnmatch_lines(["*liveness: the server did not answer GET / with 200 within 1 s*"])
    serving = ["probe-budget", "bad-request", "swagger", "stable"]
    expect(result, failed=["liveness"], skipped=serving, passed=["non-root", "pip-check"])


def test_log_flood_keeps_only_the_tail(run_plugin: Any, images: dict[str, str]) -> None:
    flood = "sh -c 'yes flooding-the-log | head -n 2000000; sleep 600'"
    result = run_plugin(
        "--aml-image", images["extended"], "--aml-command", flood, "--aml-ready-timeout", "2", "-rN"
    )
    result.stdout.fnmatch_lines(["*did not answer GET / with 200 within 2 s*", "flooding-the-log"])
    assert result.stdout.str().count("flooding-the-log") <= 110


def plugin_args(images: dict[str, str], tag: str) -> list[str]:
    """Both stand-ins, with a label unique to the calling test."""
    return [
        "-p",
        "no:cacheprovider",
        "--aml-label",
        f"test-run={tag}",
        "--aml-image",
        images["minimal"],
        "--aml-image",
        images["extended"],
    ]


def test_two_runs_at_once_and_xdist_do_not_collide(
    pytester: pytest.Pytester, engine: Any, images: dict[str, str]
) -> None:
    pytester.makeini("[pytest]\n")
    tag = uuid.uuid4().hex
    command = [sys.executable, "-m", "pytest", *plugin_args(images, tag)]
    runs = [
        subprocess.Popen(
            command, cwd=pytester.path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ),
        subprocess.Popen(
            [*command, "-n", "2"],
            cwd=pytester.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ),
    ]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert all("passed" in output for output in outputs)
    assert labelled(engine, **{"test-run": tag}) == []


def test_xdist_starts_each_images_container_once(
    pytester: pytest.Pytester, engine: Any, images: dict[str, str]
) -> None:
    pytester.makeini("[pytest]\n")
    tag = uuid.uuid4().hex
    since = time.time()
    result = pytester.runpytest_subprocess(*plugin_args(images, tag), "-n", "2")
    assert result.ret == 0
    events = engine.events(
        since=since,
        until=time.time(),
        decode=True,
        filters={"type": "container", "event": "create", "label": f"test-run={tag}"},
    )
    assert sorted(event["from"] for event in events) == sorted(
        [images["minimal"], images["extended"]]
    )
    assert os.environ.get("CI") is None or labelled(engine, **{"test-run": tag}) == []


def test_missing_image_is_one_usage_error(pytester: pytest.Pytester, engine: Any) -> None:
    pytester.makeini("[pytest]\n")
    result = pytester.runpytest("--aml-image", "amlimage/not-built-anywhere:1")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: image 'amlimage/not-built-anywhere:1' is not on the engine and pulling it failed (*): "
            "build it (docker build -t amlimage/not-built-anywhere:1 .) or pull it first"
        ]
    )
    result.stderr.no_fnmatch_line("*Traceback*")


def test_an_engine_that_refuses_the_container_is_one_line_per_check(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin("--aml-image", images["extended"], "--aml-cpus", "64", "-rs")
    needing = ["app-permissions", "pip-check", "liveness", "stable"]
    expect(result, failed=["non-root"], skipped=needing, passed=["image-config"])
    result.stdout.fnmatch_lines(
        ["SKIPPED * not run: non-root failed: the engine refused to start*"]
    )
    result.stdout.fnmatch_lines(
        ["*non-root: the engine refused to start amlimage/extended:latest: *CPU*"]
    )
    result.stdout.no_fnmatch_line("*Traceback*")
    # was: the SDK's traceback for every check, thousands of lines
    assert len(result.stdout.lines) < 120
