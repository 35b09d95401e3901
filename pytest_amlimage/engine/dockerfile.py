"""A Dockerfile as --aml-build builds it: its final stage, read with dockerfile-parse (build arguments applied)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Dockerfile:
    path: Path
    context: Path
    base: str
    instructions: tuple[dict[str, Any], ...]  # the final stage only
    envs: dict[str, str]

    def where(self, instruction: dict[str, Any]) -> str:
        return f"{self.path.name}:{instruction['startline'] + 1}"


def parse(path: Path, context: Path, build_args: dict[str, str]) -> Dockerfile:
    from dockerfile_parse import DockerfileParser

    parser = DockerfileParser(fileobj=io.BytesIO(path.read_bytes()), build_args=build_args)
    structure = list(parser.structure)
    froms = [i for i, item in enumerate(structure) if item["instruction"] == "FROM"]
    final = structure[froms[-1] :] if froms else structure
    return Dockerfile(path, context, parser.baseimage or "", tuple(final), dict(parser.envs))
