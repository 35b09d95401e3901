"""A real Docker engine whose disk fills up: a second dockerd of the test's own, its data on a small tmpfs.

It must never touch the host's engine: it has its own socket, data, exec root and pid file, and a
bridge of its own (the host's ``docker0`` is not shared, and ``--bridge none`` is never used: it
deletes the default bridge of the other engine). It writes no iptables rules and sets no sysctls.
Its one image is this machine's ``dash`` and ``dd`` with their libraries: a RUN step can fill the disk.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    import docker

from .conftest import unavailable

BRIDGE = f"amlfull{os.getpid() % 100000}"  # one per process: test workers run side by side
BRIDGE_ADDRESS = f"10.213.{os.getpid() % 250}.1/24"
DISK = "48m"
TOOLS_IMAGE = "amlimage/full-engine-tools:1"
TOOLS = {"/bin/sh": "/bin/dash", "/bin/dd": "/bin/dd"}  # path in the image: this machine's binary


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, text=True)


def _libraries(binary: str) -> list[str]:
    """The shared libraries ``binary`` loads, as ldd names them (absolute paths)."""
    listing = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    return re.findall(r"(/\S+) \(0x", listing)


def tools_archive() -> bytes:
    """A root file system holding ``dash`` as /bin/sh and ``dd``, with the libraries they load."""
    files = {inside: Path(outside) for inside, outside in TOOLS.items()}
    for binary in TOOLS.values():
        files.update({library: Path(library) for library in _libraries(binary)})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for inside, outside in files.items():
            info = archive.gettarinfo(str(outside.resolve()), arcname=inside.lstrip("/"))
            with outside.open("rb") as handle:
                archive.addfile(info, handle)
        for folder in ("tmp", "proc", "sys", "dev", "etc"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            archive.addfile(info)
    return buffer.getvalue()


@contextlib.contextmanager
def full_engine(folder: Path) -> Iterator[str]:
    """DOCKER_HOST of a running second engine with a 48 MB disk and TOOLS_IMAGE on it; all gone afterwards."""
    if os.geteuid() != 0:
        unavailable("a second engine needs root (a tmpfs, a bridge and dockerd)")
    root, host = folder / "root", f"unix://{folder}/docker.sock"
    root.mkdir()
    _run("mount", "-t", "tmpfs", "-o", f"size={DISK}", "tmpfs", str(root))
    daemon: subprocess.Popen[bytes] | None = None
    try:
        with contextlib.suppress(subprocess.CalledProcessError):  # a crashed run's
            _run("ip", "link", "del", BRIDGE)
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
        _run("ip", "addr", "add", BRIDGE_ADDRESS, "dev", BRIDGE)
        _run("ip", "link", "set", BRIDGE, "up")
        log = (folder / "dockerd.log").open("wb")
        own = (f"--data-root={root}/data", f"--exec-root={folder}/exec", f"--host={host}")
        isolated = (f"--pidfile={folder}/dockerd.pid", f"--bridge={BRIDGE}", "--iptables=false")
        daemon = subprocess.Popen(
            ["dockerd", *own, *isolated, "--ip-forward=false", "--ip-masq=false"],
            stdout=log,
            stderr=log,
        )
        client = _answering(host, daemon, folder / "dockerd.log")
        repository, tag = TOOLS_IMAGE.split(":")
        client.api.import_image_from_data(tools_archive(), repository=repository, tag=tag)
        client.close()
        yield host
    finally:
        if daemon is not None:
            daemon.terminate()
            daemon.wait(timeout=30)
        with contextlib.suppress(subprocess.CalledProcessError):
            _run("ip", "link", "del", BRIDGE)
        _unmount_under(folder)


def _unmount_under(folder: Path) -> None:
    """The tmpfs, and what the engine mounted under it or its exec root (its network namespace), deepest first."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m.startswith(f"{folder}/")), reverse=True):
        _run("umount", "--lazy", point)


def _answering(host: str, daemon: subprocess.Popen[bytes], log: Path) -> docker.DockerClient:
    import docker

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            pytest.fail(f"the second dockerd exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(Exception):
            client = docker.DockerClient(base_url=host)
            client.ping()
            return client
        time.sleep(0.2)
    pytest.fail(f"the second dockerd did not answer within 60 s: {log.read_text()[-2000:]}")
