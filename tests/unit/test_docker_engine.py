import os
import socket
import sys

import pytest

from pytest_amlimage.engine import docker_engine
from pytest_amlimage.errors import AmlUsageError


@pytest.mark.parametrize(
    "docker_host", [None, "", "unix:///var/run/docker.sock", "npipe:////./pipe/docker_engine"]
)
def test_local_engines_publish_on_loopback(docker_host: str | None) -> None:
    def remote() -> str:
        raise AssertionError("a local engine must not ask for a remote address")

    assert docker_engine.endpoint_host(docker_host, remote) == "127.0.0.1"


@pytest.mark.parametrize("docker_host", ["tcp://build-host:2375", "ssh://ci@build-host"])
def test_remote_engines_use_the_engines_host(docker_host: str) -> None:
    assert docker_engine.endpoint_host(docker_host, lambda: "build-host") == "build-host"
    assert not docker_engine.engine_is_local(docker_host)


def test_an_ssh_engine_without_paramiko_says_which_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "paramiko", None)  # as if not installed: its import fails
    monkeypatch.setenv("DOCKER_HOST", "ssh://ci@gpu-host")
    with pytest.raises(
        AmlUsageError,
        match=r"^DOCKER_HOST=ssh://ci@gpu-host .* pip install 'pytest-amlimage\[ssh\]'$",
    ):
        docker_engine.connect("ssh://ci@gpu-host")


def test_an_engine_that_does_not_answer_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # the discard port: nothing listens
    with pytest.raises(
        AmlUsageError, match=r"^cannot reach the Docker engine at tcp://127.0.0.1:9 \(.*\): start"
    ):
        docker_engine.connect("tcp://127.0.0.1:9")


def labels(session: str, started: float, pid: int, host: str | None = None) -> dict[str, str]:
    return {
        docker_engine.PLUGIN_LABEL: "true",
        docker_engine.SESSION_LABEL: session,
        docker_engine.STARTED_LABEL: f"{started:.3f}",
        docker_engine.HOST_LABEL: host or socket.gethostname(),
        docker_engine.PID_LABEL: str(pid),
    }


def dead_pid() -> int:
    pid = 2**22 - 1
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    return pid


def test_leftovers_are_older_runs_whose_process_is_gone() -> None:
    now = 1000.0
    assert docker_engine.is_leftover(labels("old", 10.0, dead_pid()), "me", now, now)
    assert not docker_engine.is_leftover(
        labels("old", 10.0, os.getpid()), "me", now, now
    )  # still running
    assert not docker_engine.is_leftover(labels("me", 10.0, dead_pid()), "me", now, now)  # ours
    # younger than us
    assert not docker_engine.is_leftover(labels("new", 2000.0, dead_pid()), "me", now, now)


def test_other_machines_leftovers_only_by_age() -> None:
    now = 100_000.0
    assert not docker_engine.is_leftover(labels("x", now - 60, 1, "elsewhere"), "me", now, now)
    assert docker_engine.is_leftover(labels("x", now - 2 * 86400, 1, "elsewhere"), "me", now, now)


def test_an_engine_that_went_away_is_told_from_one_that_refused() -> None:
    import requests
    from docker.errors import APIError, DockerException

    from pytest_amlimage.engine.docker_engine import lost, lost_message

    try:
        try:
            raise requests.exceptions.ConnectionError("Connection refused")
        except requests.exceptions.ConnectionError as cause:
            raise DockerException("Error while fetching server API version") from cause
    except DockerException as wrapped:
        assert lost(wrapped)
        message = lost_message(wrapped)
    assert message.splitlines()[0].endswith("the next run removes what this one left")
    # the detail below the cause
    assert "Error while fetching server API version" in message.splitlines()[1]
    assert not lost(APIError("conflict: the name is in use"))  # an answer, not silence


def test_a_fault_of_ours_while_the_engine_was_unreachable_is_not_the_engine_lost() -> None:
    import requests

    from pytest_amlimage.engine.docker_engine import lost

    try:
        try:
            raise requests.exceptions.ConnectionError("Connection aborted")
        except requests.exceptions.ConnectionError:
            None.strip()  # type: ignore[attr-defined]  # a bug in the handler
    except AttributeError as ours:
        assert not lost(ours)
