"""The Docker engine: connecting, finding images, the address of published ports, leftovers."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import socket
import time
import uuid
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlparse

from pytest_amlimage.config.names import PLUGIN_LABEL
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.errors import AmlUsageError

if TYPE_CHECKING:
    import docker

SESSION_LABEL = f"{PLUGIN_LABEL}.session"
STARTED_LABEL = f"{PLUGIN_LABEL}.started"
HOST_LABEL = f"{PLUGIN_LABEL}.host"
PID_LABEL = f"{PLUGIN_LABEL}.pid"
FOREIGN_LEFTOVER_AGE = 24 * 3600.0
LOCAL_SCHEMES = {"", "unix", "npipe"}


# how an OSError shows inside the SDK's wrapping: "[Errno 111] Connection refused", "FileNotFoundError(2, '...')"
SYSTEM_ERROR = re.compile(r"\[Errno \d+\] ([^'\")]+)|\w+Error\(\d+, '([^']+)'\)")


def reason(error: BaseException) -> str:
    """An engine error in one line: the engine's own explanation, without the SDK's wrapping (of a connection
    that failed, the system's words: ``Connection refused``)."""
    text = str(getattr(error, "explanation", None) or error)
    system = SYSTEM_ERROR.search(text)
    if system:
        return str(system.group(1) or system.group(2)).strip()
    return (text.strip().splitlines() or [type(error).__name__])[0][:300]


def lost(error: BaseException) -> bool:
    """The engine stopped answering (its connection refused, reset or closed), as opposed to refusing a request."""
    import http.client

    import requests
    import urllib3

    closed = (
        requests.exceptions.ConnectionError,
        ConnectionError,
        urllib3.exceptions.ProtocolError,
    )
    seen: BaseException | None = error
    while seen is not None and _from_the_transport(seen):
        if isinstance(seen, (*closed, http.client.IncompleteRead)):
            return True
        seen = seen.__cause__ or seen.__context__
    return _from_the_transport(error) and any(
        words in str(error)
        for words in ("Connection aborted", "Connection refused", "Connection reset")
    )


def _from_the_transport(error: BaseException) -> bool:
    """An error of the SDK or what carries its requests; not a fault of this plugin's own raised meanwhile."""
    package = type(error).__module__.split(".")[0]
    return package in ("docker", "requests", "urllib3", "http", "paramiko") or isinstance(
        error, OSError
    )


def lost_message(error: BaseException) -> str:
    """One line for an engine that went away mid-run: which engine, and what to do."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    return (
        f"the Docker engine at {where} stopped answering: start it again (Docker Desktop: wait until it "
        "runs), or point DOCKER_HOST at one that answers, and run again; the next run removes what this one "
        f"left\n(the last error: {reason(error)})"
    )


def connect(docker_host: str | None) -> docker.DockerClient:
    """A client for the engine DOCKER_HOST names (or the local socket); a usage error if it does not answer.

    An ``ssh://`` engine is reached through the ``ssh`` command (its keys and known hosts), as
    testcontainers does, so the SDK's optional paramiko is not needed.
    """
    import docker

    where, ssh = docker_host or "the local socket", urlparse(docker_host or "").scheme == "ssh"
    if ssh and importlib.util.find_spec("paramiko") is None:
        raise AmlUsageError(
            f"DOCKER_HOST={docker_host} is an ssh:// engine, which the Docker SDK reaches only with paramiko "
            "installed: pip install 'pytest-amlimage[ssh]'"
        )
    try:
        client = docker.from_env(timeout=30, use_ssh_client=ssh)
        client.ping()
    # the SDK's own, or its transport's (sockets, ssh): all mean "not reachable"
    except Exception as error:
        raise AmlUsageError(
            f"cannot reach the Docker engine at {where} ({reason(error)}): start dockerd "
            "(e.g. scripts/engine.sh) or set DOCKER_HOST to a running engine"
        ) from None
    return client


def engine_is_local(docker_host: str | None) -> bool:
    return urlparse(docker_host or "").scheme in LOCAL_SCHEMES


def endpoint_host(docker_host: str | None, remote_host: Callable[[], str]) -> str:
    """Where published ports answer: loopback for a local engine, else the engine's host.

    ``remote_host`` is testcontainers' own answer for a remote DOCKER_HOST
    (tcp:// or ssh://), asked only when the engine is not local.
    """
    if engine_is_local(docker_host):
        return "127.0.0.1"
    return remote_host()


def require_image(client: docker.DockerClient, reference: str) -> ImageInfo:
    """The image's inspect data; pulls it once when it is not local; a usage error when neither works."""
    from docker.errors import APIError, ImageNotFound

    try:
        return ImageInfo.from_attrs(client.api.inspect_image(reference))
    except ImageNotFound:
        pass
    try:
        client.images.pull(reference)
        return ImageInfo.from_attrs(client.api.inspect_image(reference))
    except (APIError, ImageNotFound) as error:
        raise AmlUsageError(
            f"image {reference!r} is not on the engine and pulling it failed ({reason(error)}): "
            f"build it (docker build -t {reference} .) or pull it first"
        ) from None


def run_labels(session_id: str, started: float) -> dict[str, str]:
    """Labels every container of this run carries, so that cleanup can find it."""
    return {
        PLUGIN_LABEL: "true",
        SESSION_LABEL: session_id,
        STARTED_LABEL: f"{started:.3f}",
        HOST_LABEL: socket.gethostname(),
        PID_LABEL: str(os.getpid()),
    }


def is_leftover(labels: dict[str, str], session_id: str, started: float, now: float) -> bool:
    """A container of another run that started before this one and whose process is gone.

    On this machine the owner's pid tells; for a run on another machine sharing
    the engine, only age can tell (older than a day).
    """
    if labels.get(SESSION_LABEL) == session_id or float(labels.get(STARTED_LABEL, "0")) >= started:
        return False
    if labels.get(HOST_LABEL) != socket.gethostname():
        return now - float(labels.get(STARTED_LABEL, "0")) > FOREIGN_LEFTOVER_AGE
    pid = labels.get(PID_LABEL, "")
    return not (pid.isdigit() and _pid_alive(int(pid)))


def require_gpu(client: docker.DockerClient, docker_host: str | None) -> None:
    """--aml-gpu needs a GPU the engine can hand to containers; a usage error otherwise."""
    runtimes = client.info().get("Runtimes") or {}
    device = os.path.exists("/dev/nvidiactl") if engine_is_local(docker_host) else True
    if "nvidia" not in runtimes or not device:
        raise AmlUsageError(
            "--aml-gpu: no GPU for containers here (the engine has no nvidia runtime or the machine no "
            "/dev/nvidiactl); drop --aml-gpu: the CUDA and cuDNN version checks do not need a GPU"
        )


def local_image(client: docker.DockerClient, reference: str) -> ImageInfo | None:
    """The image if the engine holds it (never pulled), else None."""
    from docker.errors import APIError

    try:
        return ImageInfo.from_attrs(client.api.inspect_image(reference))
    except APIError:
        return None


def history(client: docker.DockerClient, reference: str) -> list[str]:
    """The image's history, oldest step first: what made each step (``CreatedBy``), from the engine's API."""
    return [str(step.get("CreatedBy") or "") for step in reversed(client.api.history(reference))]


def local_images(client: docker.DockerClient, tagged: str) -> list[ImageInfo]:
    """The images the engine holds with a tag containing ``tagged`` (only those are inspected)."""
    listed = client.api.images()
    wanted = [
        item["Id"] for item in listed if any(tagged in tag for tag in item.get("RepoTags") or ())
    ]
    return [ImageInfo.from_attrs(client.api.inspect_image(image_id)) for image_id in wanted]


def read_file(
    client: docker.DockerClient, image: str, path: str, labels: dict[str, str], limit: int = 65536
) -> str | None:
    """The text of ``path`` in ``image``, read from a container that is created, never started, and removed.

    None when the image has no such file, or it is not a regular file of at most ``limit`` bytes.
    """
    import io
    import tarfile

    from docker.errors import APIError

    name = container_name()
    try:  # the create inside: an interrupted one is removed by its name
        client.api.create_container(
            image, command=["true"], labels=labels, network_disabled=True, name=name
        )
        try:
            stream, stat = client.api.get_archive(name, path)
        except APIError:  # no such file
            return None
        # Go's type bits: a folder, a link, ...
        if stat.get("mode", 0) >> 24 or stat.get("size", 0) > limit:
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r") as archive:
            member = archive.next()
            handle = archive.extractfile(member) if member is not None and member.isfile() else None
            return handle.read().decode("utf-8", "replace") if handle is not None else None
    finally:
        remove_named(client, name)


def container_name() -> str:
    """A name for a container this plugin makes: it can be removed by name even when its creation was
    interrupted (Ctrl-C) before the engine answered with its id."""
    return f"amlimage-{uuid.uuid4().hex[:16]}"


def remove_named(client: docker.DockerClient, name: str) -> None:
    """Remove the container ``name`` and its anonymous volumes, if it exists.

    Never raises: it runs while another error or Ctrl-C is on its way out. What an unreachable engine
    keeps, the next run's leftover sweep removes (by its labels).
    """
    with contextlib.suppress(Exception):
        client.api.remove_container(name, force=True, v=True)


def remove_leftovers(client: docker.DockerClient, session_id: str, started: float) -> int:
    """Remove the containers crashed earlier runs left behind; returns how many."""
    from docker.errors import APIError

    removed = 0
    # The low-level listing carries the labels: no inspect per container, which races other runs' cleanup.
    for container in client.api.containers(all=True, filters={"label": PLUGIN_LABEL}):
        if is_leftover(container.get("Labels") or {}, session_id, started, time.time()):
            try:
                client.api.remove_container(container["Id"], force=True, v=True)
                removed += 1
            # another run is removing it (409) or has (404): not ours to fight over
            except APIError:
                pass
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
