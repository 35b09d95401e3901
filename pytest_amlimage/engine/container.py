"""The container under test: how it is started, and what users' tests can do with it."""

from __future__ import annotations

import contextlib
import posixpath
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, cast

from pytest_amlimage.engine import docker_engine
from pytest_amlimage.engine.cpu import cpu_seconds
from pytest_amlimage.engine.image_info import env_of
from pytest_amlimage.engine.memory import (
    PEAK_SCRIPT,
    KernelPeak,
    MemoryWatch,
    host_peak,
    kernel_peak,
)
from pytest_amlimage.errors import AmlUsageError

if TYPE_CHECKING:
    from testcontainers.core.container import DockerContainer

KEEP_ALIVE = (["sleep"], ["infinity"])
# seconds between asking the engine, while an exec streams, whether it is still there
ENGINE_CHECK = 2.0


@dataclass(frozen=True)
class ExecResult:
    """What a command run in the container gave: exit code, stdout and stderr as text."""

    exit_code: int
    output: str
    stderr: str = ""


@dataclass(frozen=True)
class LaunchPlan:
    """Everything needed to start one image; ``serves`` says whether a scoring server is expected."""

    image: str
    serves: bool
    port: int  # the scoring route's
    ports: tuple[int, ...]  # every route's, published
    memory: int  # bytes
    cpus: float
    command: list[str] | None = None
    entrypoint: list[str] | None = None
    environment: dict[str, str] = field(default_factory=dict)
    mounts: dict[str, str] = field(default_factory=dict)
    # where the entry script and the model are inside (a batch job's driver is told them)
    script_at: str | None = None
    model_at: str | None = None
    gpus: bool = False
    # a local engine: published ports on 127.0.0.1, mounts from this machine
    bind_loopback: bool = True
    cpu_shares: int | None = None  # relative weight under contention (the engine's default: 1024)
    # see start_command.server_environment
    probe_environment: dict[str, str] = field(default_factory=dict)
    runit: bool = False  # the endpoint's start runs runsvdir: runit's folders must be the user's
    # why the endpoint could never reach the server, known before it starts
    unreachable: str | None = None
    # why an image that could serve is only kept alive (what it needs first)
    idle: str | None = None
    network: str = "bridge"  # "none": no network at all (the offline run), nothing published


class AmlContainer:
    """A running container of the image under test (the ``aml_container`` fixture)."""

    def __init__(self, plan: LaunchPlan, wrapped: DockerContainer, host: str) -> None:
        self.plan = plan
        self.host = host
        self._wrapped = wrapped
        self._docker = wrapped.get_wrapped_container()

    @property
    def id(self) -> str:
        return str(self._docker.id)

    @property
    def image(self) -> str:
        return self.plan.image

    @property
    def user(self) -> str:
        """The user the container runs as, as configured (``Config.User``); empty means root."""
        return str(self._docker.attrs["Config"].get("User") or "")

    @property
    def env(self) -> dict[str, str]:
        return env_of(self._docker.attrs["Config"])

    def exec(
        self, command: Sequence[str], environment: Mapping[str, str] | None = None
    ) -> ExecResult:
        """Run ``command`` (an argument list, never a shell string) as the container's user.

        ``environment``: variables set for this command only, over the container's.
        """
        if isinstance(command, str):
            raise TypeError("exec() takes an argument list, e.g. ['python', '-V']")
        client = self._docker.client
        assert client is not None  # a container the SDK returned always has its client
        exit_code, stdout, stderr = _exec(
            client.api, self.id, list(command), dict(environment or {})
        )
        return ExecResult(
            int(exit_code if exit_code is not None else -1), _text(stdout), _text(stderr)
        )

    def logs(self, tail: int = 200) -> str:
        """The last ``tail`` lines of the container's log (bounded, however much it wrote)."""
        return bytes(self._docker.logs(tail=tail)).decode("utf-8", "replace")

    def state(self) -> tuple[bool, int | None]:
        """(running, exit code once it has exited)."""
        self._docker.reload()
        status = self._docker.attrs["State"]
        return bool(status.get("Running")), None if status.get("Running") else int(
            status.get("ExitCode", -1)
        )

    def oom_killed(self) -> bool:
        """The kernel killed a process of the container for want of memory (as of the last ``state()``)."""
        return bool(self._docker.attrs.get("State", {}).get("OOMKilled"))

    def watch_memory(self) -> MemoryWatch:
        """The container's memory, followed from now until it goes (the engine's stats, no exec)."""
        client = self._docker.client
        assert client is not None
        return MemoryWatch(client.api, self.id)

    def kernel_peak(self) -> KernelPeak | None:
        """The kernel's peak counter for the container now; None where none can be read (or it is gone). A local
        engine's cgroups are in sight and read from this machine's side, else inside by one exec."""
        found = host_peak(self.id) if self.plan.bind_loopback else None
        try:
            return found or kernel_peak(self.exec(["sh", "-c", PEAK_SCRIPT]).output)
        except Exception:  # the container went, the engine with it
            return None

    def cpu_seconds(self) -> float | None:
        """CPU seconds its processes used so far, where a local engine's counter is in sight; else None."""
        return cpu_seconds(self.id) if self.plan.bind_loopback else None

    def host_port(self, port: int | None = None) -> int:
        """The host port that ``port`` (default: the server's) is published on."""
        wanted = f"{port or self.plan.port}/tcp"
        bindings = self._docker.attrs["NetworkSettings"]["Ports"].get(wanted)
        if not bindings:
            self._docker.reload()
            bindings = self._docker.attrs["NetworkSettings"]["Ports"].get(wanted)
        if not bindings:
            raise AmlUsageError(f"port {wanted} is not published by the container of {self.image}")
        return int(bindings[0]["HostPort"])

    def url(self, path: str = "/", port: int | None = None) -> str:
        return f"http://{self.host}:{self.host_port(port)}{path}"

    def copy_out(self, path: str, destination: Path) -> None:
        """Copy ``path`` (a folder or a file) out of the container into ``destination`` (made when missing):
        regular files and folders only, never outside ``destination``."""
        import io
        import tarfile

        stream, _ = self._docker.get_archive(path)
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as archive:
            members = [
                member
                for member in archive.getmembers()
                if (member.isfile() or member.isdir())
                and not member.name.startswith("/")
                and ".." not in member.name.split("/")
            ]
            destination.mkdir(parents=True, exist_ok=True)
            if hasattr(tarfile, "data_filter"):
                archive.extractall(destination, members=members, filter="data")
            else:  # a Python without extraction filters: the members were checked above
                archive.extractall(destination, members=members)

    def kill(self) -> None:
        """Stop the container's processes now (it stays, to be read and removed); gone already is fine."""
        from docker.errors import APIError

        with contextlib.suppress(APIError):  # it exited meanwhile: nothing to stop
            self._docker.kill()

    def remove(self) -> None:
        self._wrapped.stop(force=True, delete_volume=True)


def _exec(
    api: Any, container: str, command: list[str], environment: dict[str, str]
) -> tuple[Any, bytes, bytes]:
    """(exit code, stdout, stderr) of ``command``: ``exec_run``, but closing the connection ourselves.

    Over ``ssh://`` the SDK's close writes to an ssh process that has already ended and raises
    BrokenPipeError once the output is read (docker/docker-py#3218); that close is let go.
    """
    from docker.utils.socket import consume_socket_output

    created = api.exec_create(container, command, environment=environment)
    # a CancellableStream of (stdout, stderr)
    stream = api.exec_start(created["Id"], stream=True, demux=True)
    done, lost = threading.Event(), threading.Event()
    watch = threading.Thread(target=_watch_engine, args=(api, stream, done, lost), daemon=True)
    watch.start()
    try:
        stdout, stderr = consume_socket_output(stream, demux=True)
    except Exception:
        if lost.is_set():
            raise ConnectionError("the engine stopped answering while the command ran") from None
        raise
    finally:
        done.set()
        with contextlib.suppress(OSError):
            stream._response.close()  # what exec_run closes; CancellableStream.close() refuses ssh
    if lost.is_set():
        raise ConnectionError("the engine stopped answering while the command ran")
    return api.exec_inspect(created["Id"])["ExitCode"], stdout or b"", stderr or b""


def _watch_engine(api: Any, stream: Any, done: threading.Event, lost: threading.Event) -> None:
    """While an exec streams, ask the engine every ENGINE_CHECK s whether it is there; when it is not, end the
    stream (its reads would otherwise wait forever on a connection nobody closes)."""
    while not done.wait(ENGINE_CHECK):
        try:
            api.ping()
        except Exception:
            lost.set()
            with contextlib.suppress(Exception):
                raw = api._get_raw_response_socket(stream._response)
                getattr(raw, "_sock", raw).shutdown(socket.SHUT_RDWR)
            return


def _files(source: Path, target: str) -> Iterator[tuple[Path, str]]:
    """Each file under ``source`` (a file or a folder) and where it goes under ``target``."""
    if source.is_file():
        yield source, target
        return
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        yield path, posixpath.join(target, path.relative_to(source).as_posix())


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", "replace")


def start(
    plan: LaunchPlan,
    labels: dict[str, str],
    host_for: Callable[[DockerContainer], str],
    keep: Callable[[AmlContainer], object] = lambda started: None,
) -> AmlContainer:
    """Start ``plan`` without Ryuk (it would pull an image).

    ``keep`` records the started container for removal; until it has, anything that fails or
    interrupts the start (Ctrl-C) removes the container here.
    """
    from testcontainers.core.config import testcontainers_config
    from testcontainers.core.container import DockerContainer

    testcontainers_config.ryuk_disabled = True
    name = docker_engine.container_name()
    wrapped = DockerContainer(plan.image, env=dict(plan.environment)).with_name(name)
    if plan.command is not None:
        wrapped.with_command(plan.command)
    for host_path, container_path in plan.mounts.items():
        if plan.bind_loopback:
            wrapped.with_volume_mapping(host_path, container_path, "ro")
        else:  # a remote engine cannot see this machine's files: copied in before the container starts
            for source, target in _files(Path(host_path), container_path):
                wrapped.with_copy_into_container(source, target, 0o444)
    for port in plan.ports if plan.network != "none" else ():
        cast(dict[str, Any], wrapped.ports)[f"{port}/tcp"] = (
            ("127.0.0.1", None) if plan.bind_loopback else None
        )
    from docker.types import DeviceRequest

    gpus = [DeviceRequest(count=-1, capabilities=[["gpu"]])] if plan.gpus else None
    wrapped.with_kwargs(
        labels=labels,
        device_requests=gpus,
        entrypoint=plan.entrypoint,
        network=plan.network,
        security_opt=["no-new-privileges"],
        mem_limit=plan.memory,
        nano_cpus=int(plan.cpus * 1e9),
        cpu_shares=plan.cpu_shares,
        detach=True,
    )
    try:
        wrapped.start()
        started = AmlContainer(plan, wrapped, host_for(wrapped))
        keep(started)
        return started
    except BaseException:  # also Ctrl-C, even while the engine was creating it: found by its name
        _remove_named(wrapped, name)
        raise


def _remove_named(wrapped: DockerContainer, name: str) -> None:
    client = wrapped.get_docker_client().client
    docker_engine.remove_named(client, name)
    client.close()
