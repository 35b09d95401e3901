"""The engine reached as DOCKER_HOST=ssh://...: the CI templates' GPU job, here with this machine's engine.

An sshd of the test's own (its keys, port and config in a temporary folder) lets the plugin reach
the local engine through the ssh command, as it would a GPU machine's.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import APPS, EXAMPLE, expect, green, own_tests, unavailable
from .test_endpoint import deploy

pytestmark = pytest.mark.engine
SSHD = Path("/usr/sbin/sshd")


def _require_ssh() -> None:
    if not SSHD.exists() or shutil.which("ssh") is None:
        unavailable(
            "no sshd or ssh here; run scripts/engine.sh (it installs openssh-server as root)"
        )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _configure(folder: Path, port: int) -> tuple[Path, Path]:
    """Host and client keys, the server's config and the client's; returns (sshd_config, ssh_config)."""
    for name in ("host_key", "client_key"):
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / name)], check=True
        )
    shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
    server = folder / "sshd_config"
    server.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"AuthorizedKeysFile {folder / 'authorized_keys'}\nPidFile {folder / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "StrictModes no\nUsePAM no\n"
    )
    client = folder / "ssh_config"
    client.write_text(
        f"Host 127.0.0.1\n  IdentityFile {folder / 'client_key'}\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {folder / 'known_hosts'}\n  StrictHostKeyChecking no\n  LogLevel ERROR\n"
    )
    return server, client


@pytest.fixture
def ssh_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """DOCKER_HOST for this machine's engine through an sshd of our own; `ssh` on PATH uses its config."""
    _require_ssh()
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation folder
    port = _free_port()
    server, client = _configure(tmp_path, port)
    sshd = subprocess.Popen(
        [str(SSHD), "-D", "-e", "-f", str(server)], stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for(port, sshd)
        wrapper = tmp_path / "bin"
        wrapper.mkdir()
        (wrapper / "ssh").write_text(f'#!/bin/sh\nexec {shutil.which("ssh")} -F {client} "$@"\n')
        (wrapper / "ssh").chmod(0o755)
        monkeypatch.setenv("PATH", f"{wrapper}{os.pathsep}{os.environ['PATH']}")
        host = f"ssh://{getpass.getuser()}@127.0.0.1:{port}"
        monkeypatch.setenv("DOCKER_HOST", host)
        yield host
    finally:
        sshd.terminate()
        sshd.wait(timeout=10)


def _wait_for(port: int, sshd: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if sshd.poll() is not None:
            pytest.fail(f"sshd exited: {sshd.stderr.read() if sshd.stderr else ''}")
        with socket.socket() as attempt:
            if attempt.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail("sshd did not listen within 10 s")


def test_an_ssh_engine_runs_the_whole_suite_and_leaves_nothing(
    run_plugin: Any, ssh_engine: str, images: dict[str, str]
) -> None:
    result = run_plugin("--aml-image", images["extended"], f"--aml-sample={EXAMPLE / 'samples'}")
    result.stdout.fnmatch_lines(
        [f"amlimage: Docker * at {ssh_engine}; images: {images['extended']}"]
    )
    green(result, "non-root", "entry-script", "liveness", "score[two-rows]", "concurrency")


def test_code_and_model_are_copied_into_a_remote_engines_container_read_only(
    run_plugin: Any, pytester: pytest.Pytester, ssh_engine: str, images: dict[str, str]
) -> None:
    """The engine's host cannot see this machine's files: they are copied in before start, not mounted."""
    pytester.makepyfile(
        test_layout="""
        def test_copied_not_mounted(aml_container):
            mounts = aml_container.exec(["cat", "/proc/self/mounts"]).output
            assert "/var/azureml-app" not in mounts
            listing = aml_container.exec(["ls", "-l", "/var/azureml-app/working/score.py"]).output
            assert listing.startswith("-r--r--r--") and " root root " in listing, listing
        """
    )
    deployment = deploy(pytester, images, APPS / "working" / "score.py", model=True)
    result = run_plugin(deployment, "--aml-sample=request.json", "-k", "score or copied")
    expect(result, passed=["score[request]"])
    assert own_tests(result) == ["passed"]
