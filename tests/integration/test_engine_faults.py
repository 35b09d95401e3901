"""An engine that goes away mid-run, with real parts: a TCP proxy of ours in front of the engine's socket
(DOCKER_HOST=tcp://127.0.0.1:PORT) is cut at a phase of the run. One line names the engine; the other
checks skip with the pointer; the next run removes what the lost engine could not."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_amlimage.engine.docker_engine import PLUGIN_LABEL

from .conftest import deployment_yaml, expect
from .full_engine import TOOLS_IMAGE, full_engine

pytestmark = pytest.mark.engine
ENGINE_SOCKET = "/var/run/docker.sock"


class EngineProxy:
    """tcp://127.0.0.1:PORT forwarding to the engine's unix socket; ``cut()`` drops every connection for good."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.open: list[socket.socket] = []
        self.lock, self.is_cut = threading.Lock(), False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._forward, args=(client,), daemon=True).start()

    def _forward(self, client: socket.socket) -> None:
        """One client's connection to the engine, set up off the accept loop (the engine may be slow to take it)."""
        upstream = socket.socket(socket.AF_UNIX)
        try:
            upstream.connect(ENGINE_SOCKET)
        except OSError:  # this client gets a closed connection, not silence
            client.close()
            upstream.close()
            return
        with self.lock:
            if self.is_cut:  # accepted while being cut: dropped with the rest
                client.close()
                upstream.close()
                return
            self.open += [client, upstream]
        threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
        self._pump(client, upstream)

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
        with self.lock:
            self.is_cut = True
        # wakes the blocked accept(): a close alone leaves it listening
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
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


def run_through(
    pytester: pytest.Pytester, proxy: EngineProxy, *args: str, by_option: bool = False
) -> subprocess.Popen[str]:
    """The plugin's run through ``proxy``, named by DOCKER_HOST, or by ``--aml-docker-host`` alone."""
    pytester.makeini("[pytest]\n")
    env = {key: value for key, value in os.environ.items() if key != "DOCKER_HOST"}
    if by_option:
        args = (*args, f"--aml-docker-host={proxy.url}")
    else:
        env["DOCKER_HOST"] = proxy.url
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rs", *args]
    return subprocess.Popen(
        command,
        cwd=pytester.path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def started(engine: Any, tag: str, run: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not ours(engine, tag):
        assert time.monotonic() < deadline and run.poll() is None, (
            "the run never started its container"
        )
        time.sleep(0.05)


def naming_the_engine(output: str) -> list[str]:
    """The failures' first lines (``CHECK: ...``, under the ``IMAGE::CHECK`` heading) that name the engine lost."""
    return [
        line
        for line in output.splitlines()
        if re.match(r"[a-z][\w\[\]-]*: ", line) and "stopped answering" in line
    ]


PHASES = {  # phase -> (app, deployment variables, when to cut after the container exists)
    "starting": ("slow_init", "", 0.0),
    "waiting for the server": ("slow_init", "", 0.5),  # init() takes 3 s
    "scoring": ("slow_run", "  RUN_SECONDS: '3'\n", 3.0),  # a sample takes 3 s
}


@pytest.mark.parametrize("phase", PHASES)
def test_an_engine_lost_mid_run_is_one_line_and_the_next_run_sweeps(
    pytester: pytest.Pytester, proxy: EngineProxy, engine: Any, images: dict[str, str], phase: str
) -> None:
    app, variables, after = PHASES[phase]
    tag = str(time.time_ns())
    (pytester.path / "request.json").write_text('{"data": [1]}')
    timeout = "request_settings:\n  request_timeout_ms: 60000\n"
    deployment_yaml(pytester, images["minimal"], app, variables, timeout)
    args = (
        "--aml-deployment=deployment.yml",
        "--aml-sample=request.json",
        f"--aml-label=fault-test={tag}",
    )
    run = run_through(pytester, proxy, *args)
    started(engine, tag, run)
    time.sleep(after)
    proxy.cut()
    output, _ = run.communicate(timeout=120)
    assert run.returncode == 1, output
    assert "Traceback" not in output, output
    named = naming_the_engine(output)
    assert len(named) == 1, output  # the first check that met it; the others skip with the pointer
    assert (
        named[0].split(": ", 1)[1].startswith(f"the Docker engine at {proxy.url} stopped answering")
    ), output
    # the skips' pointer
    assert f"failed: the Docker engine at {proxy.url} stopped answering" in output, output
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--aml-image={images['minimal']}", "--collect-only"
    )
    assert ours(engine, tag) == []  # what the lost engine could not remove, the next run did


def test_an_engine_lost_while_building_is_one_usage_error(
    pytester: pytest.Pytester, proxy: EngineProxy, images: dict[str, str]
) -> None:
    unique = time.time_ns()  # never cached: the build is under way when the engine goes
    pytester.makefile("", Dockerfile=f"FROM {images['minimal']}\nRUN echo {unique} && sleep 4\n")
    run = run_through(
        pytester,
        proxy,
        "--aml-build=Dockerfile",
        "--aml-any-base",
        "--aml-image=amlimage/fault-build:1",
        by_option=True,
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


@pytest.fixture(scope="module")
def full(engine: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with full_engine(tmp_path_factory.mktemp("full-engine")) as host:
        yield host


FILLED_BY = {  # what fills the full engine's 48 MB disk: a Dockerfile, and the size of a file beside it
    "a RUN step": (f"FROM {TOOLS_IMAGE}\nRUN dd if=/dev/zero of=/fill bs=1M\n", 0),
    "the build context": ("FROM scratch\nCOPY big.bin /\n", 64 << 20),
}


@pytest.mark.parametrize("filled_by", FILLED_BY)
def test_a_full_engine_fails_the_build_with_the_full_disk_first(
    pytester: pytest.Pytester,
    run_plugin: Any,
    full: str,
    monkeypatch: pytest.MonkeyPatch,
    filled_by: str,
) -> None:
    dockerfile, size = FILLED_BY[filled_by]
    pytester.makefile("", Dockerfile=dockerfile)
    (pytester.path / "big.bin").write_bytes(bytes(size))
    monkeypatch.setenv("DOCKER_HOST", full)
    result = run_plugin("--aml-build=Dockerfile", "--aml-image=amlimage/full:1", "--aml-any-base")
    expect(result, failed=["build"])
    failure = result.stdout.str().split("\nbuild: ", 1)[1]
    assert failure.startswith("the engine's disk is full (docker system prune frees it)"), failure
    assert "Traceback" not in result.stdout.str()
    import docker

    # the failed step's too
    assert docker.DockerClient(base_url=full).api.containers(all=True) == []


def test_an_engine_lost_under_two_images_is_one_failure(
    pytester: pytest.Pytester, proxy: EngineProxy, engine: Any, images: dict[str, str]
) -> None:
    tag = str(time.time_ns())
    deployment_yaml(pytester, images["minimal"], "slow_init")
    both = (f"--aml-image={images['minimal']}", f"--aml-image={images['extended']}")
    run = run_through(
        pytester, proxy, "--aml-deployment=deployment.yml", *both, f"--aml-label=fault-test={tag}"
    )
    started(engine, tag, run)
    time.sleep(0.5)  # both containers are up or starting, their servers in init()
    proxy.cut()
    output, _ = run.communicate(timeout=120)
    # the run's one cause, whichever image met it
    assert len(naming_the_engine(output)) == 1, output
    assert "Traceback" not in output, output
