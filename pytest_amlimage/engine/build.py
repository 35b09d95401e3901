"""--aml-build: build the candidate with the engine (its cache reused), showing the step being built."""

from __future__ import annotations

import io
import re
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pytest_amlimage.engine.docker_engine import reason
from pytest_amlimage.masking import masked

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
    rewritten: str | None = None,
) -> str | None:
    """Build ``tag``; None when it worked, else the failing step and the last lines of its output.

    ``rewritten``: the Dockerfile's text to build instead, written beside it for the build only.
    """
    dockerfile, context = locate(path)
    used = (
        dockerfile
        if rewritten is None
        else dockerfile.with_name(f".{dockerfile.name}.amlimage-rebase")
    )
    if rewritten is not None:
        used.write_text(rewritten)
    try:
        relative = used.relative_to(context).as_posix()
        return _build(client, context, relative, tag, build_args, target, progress)
    finally:
        if rewritten is not None:
            used.unlink(missing_ok=True)


def _build(
    client: docker.DockerClient,
    context: Path,
    dockerfile: str,
    tag: str,
    build_args: dict[str, str],
    target: str | None,
    progress: Callable[[str], None],
) -> str | None:
    from docker.errors import APIError

    tail: deque[str] = deque(maxlen=OUTPUT_TAIL)
    step = "the start"
    try:
        for chunk in client.api.build(
            path=str(context),
            dockerfile=dockerfile,
            tag=tag,
            buildargs=build_args,
            target=target,
            network_mode="host",
            forcerm=True,
            rm=True,
            decode=True,
        ):
            text = masked(str(chunk.get("stream", "")))
            if text.startswith("Step "):
                step = text.strip()
                progress(f"amlimage: building {tag}: {step}")
                tail.clear()  # the output shown is the failing step's
            tail.extend(line for line in text.splitlines() if line.strip())
            if "error" in chunk:
                return _failed(tag, step, masked(str(chunk["error"]).strip()), tail)
    # the engine refused the build itself: its disk full, the context too large
    except APIError as error:
        return _failed(tag, step, reason(error), tail)
    return None


DISK_FULL = "no space left on device"


def _failed(tag: str, step: str, error: str, tail: deque[str]) -> str:
    """The build's failure: the engine's full disk first, where that is the cause (in the engine's error, or
    in what the step's command printed: pip's, dd's ``No space left on device``); then the step and output."""
    full = any(DISK_FULL in line.lower() for line in (error, *tail))
    cause = f"the engine's disk is full (docker system prune frees it), so building {tag} failed at {step}"
    first = cause if full else f"building {tag} failed at {step}"
    return f"{first}:\n{error}\n" + "\n".join(tail)


ARG_REFERENCE = re.compile(r"^\$\{?(\w+)\}?$")


def rebased(
    dockerfile: Path, new_base: str, build_args: dict[str, str]
) -> tuple[str | None, dict[str, str]]:
    """How to build ``dockerfile`` on ``new_base``: (text of a rewritten Dockerfile or None, build arguments).

    Through the Dockerfile's own ARG when its final FROM names one (``FROM ${BASE_IMAGE}``), else
    with that FROM line rewritten (its ``AS name`` and flags kept).
    """
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(fileobj=io.BytesIO(dockerfile.read_bytes()))
    final = [item for item in parser.structure if item["instruction"] == "FROM"][-1]
    words = final["value"].split()
    position = next(i for i, word in enumerate(words) if not word.startswith("--"))
    argument = ARG_REFERENCE.match(words[position])
    if argument:
        return None, {**build_args, argument.group(1): new_base}
    words[position] = new_base
    lines = dockerfile.read_text().splitlines(keepends=True)
    lines[final["startline"] : final["endline"] + 1] = [f"FROM {' '.join(words)}\n"]
    return "".join(lines), build_args
