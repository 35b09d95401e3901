"""An engine that goes away mid-run, with real parts: a TCP proxy of ours in front of the engine's socket
(DOCKER_HOST=tcp://127.0.0.1:PORT) is cut at a phase of the run. One line names the engine; the other
checks skip with the pointer; the next run removes what the lost engine could not."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_amlimage.engine.client import PLUGIN_LABEL

from .conftest import APPS

pytestmark = pytest.mark.engine
ENGINE_SOCKET = "/var/run/docker.sock"


class EngineProxy:
    """tcp://127.0.0.1:PORT forwarding to the engine's unix socket; ``cut()`` drops every connection for good."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(ENGINE_SOCKET)
            self.open += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            end.close()

    def cut(self) -> None:
        self.listener.close()
        for connection in self.open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()


@pytest.fixture
def proxy(engine: Any) -> Iterator[EngineProxy]:
    found = EngineProxy()
    yield found
    found.cut()


def ours(engine: Any, tag: str) -> list[str]:
    filters = {"label": [PLUGIN_LABEL, f"fault-test={tag}"]}
    return [c["Id"] for c in engine.api.containers(all=True, filters=filters)]


def run_through(pytester: pytest.Pytester, proxy: EngineProxy, *args: str) -> subprocess.Popen[str]:
    pytester.makeini("[pytest]\n")
    env = {**os.environ, "DOCKER_HOST": proxy.url}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args]
    return subprocess.Popen(
        command,
        cwd=pytester.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_an_engine_lost_while_waiting_for_the_server_is_one_line_and_the_next_run_sweeps(
    pytester: pytest.Pytester, proxy: EngineProxy, engine: Any, images: dict[str, str]
) -> None:
    tag = str(time.time_ns())
    script = APPS / "slow_init" / "score.py"  # init() takes 3 s: the run is waiting for GET /
    run = run_through(
        pytester,
        proxy,
        f"--aml-image={images['minimal']}",
        f"--aml-entry-script={script}",
        f"--aml-label=fault-test={tag}",
    )
    deadline = time.monotonic() + 60
    while not ours(engine, tag):
        assert time.monotonic() < deadline and run.poll() is None, (
            "the run never started its container"
        )
        time.sleep(0.05)
    time.sleep(0.5)
    proxy.cut()
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 1, output
    assert "Traceback" not in output, output
    named = [
        line
        for line in output.splitlines()
        if "stopped answering" in line and " failed: " not in line
    ]
    failures = [line for line in named if line.startswith("amlimage/")]
    assert len(failures) == 1, (
        output
    )  # the first check that met it; the others skip with the pointer
    assert (
        failures[0]
        .split(": ", 1)[1]
        .startswith(f"the Docker engine at {proxy.url} stopped answering")
    ), output
    assert (
        "SKIPPED" in output
        and f"failed: the Docker engine at {proxy.url} stopped answering" in output
    ), output
    assert ours(engine, tag), "the lost engine could not remove it: the next run's to sweep"
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--aml-image={images['minimal']}", "--collect-only"
    )
    assert ours(engine, tag) == []


def test_an_engine_lost_while_building_is_one_usage_error(
    pytester: pytest.Pytester, proxy: EngineProxy, images: dict[str, str]
) -> None:
    pytester.makefile("", Dockerfile=f"FROM {images['minimal']}\nRUN sleep 4\n")
    run = run_through(
        pytester,
        proxy,
        "--aml-build=Dockerfile",
        "--aml-any-base",
        "--aml-image=amlimage/fault-build:1",
    )
    time.sleep(2.5)  # connected, and building the slow step
    proxy.cut()
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 4, output
    errors = [line for line in output.splitlines() if line.startswith("ERROR:")]
    assert (
        errors == [errors[0]] and f"the Docker engine at {proxy.url} stopped answering" in errors[0]
    ), output
    assert "Traceback" not in output, output
