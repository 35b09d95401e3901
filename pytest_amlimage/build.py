"""--aml-build: build the candidate with the engine (its cache reused), showing the step being built."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    import docker

OUTPUT_TAIL = 40


def locate(path: Path) -> tuple[Path, Path]:
    """(Dockerfile, context folder) from a Dockerfile or a folder holding one."""
    if path.is_dir():
        return path / "Dockerfile", path
    return path, path.parent


def build(
    client: docker.DockerClient,
    path: Path,
    tag: str,
    build_args: dict[str, str],
    target: str | None,
    progress: Callable[[str], None],
) -> str | None:
    """Build ``tag``; None when it worked, else the failing step and the last lines of its output."""
    dockerfile, context = locate(path)
    tail: deque[str] = deque(maxlen=OUTPUT_TAIL)
    step = ""
    stream = client.api.build(
        path=str(context),
        dockerfile=str(dockerfile.relative_to(context)),
        tag=tag,
        buildargs=build_args,
        target=target,
        network_mode="host",
        forcerm=True,
        rm=True,
        decode=True,
    )
    for chunk in stream:
        text = str(chunk.get("stream", ""))
        if text.startswith("Step "):
            step = text.strip()
            progress(f"amlimage: building {tag}: {step}")
        tail.extend(line for line in text.splitlines() if line.strip())
        if "error" in chunk:
            output = "\n".join(tail)
            return f"building {tag} failed at {step or 'the start'}:\n{chunk['error'].strip()}\n{output}"
    return None
