"""What the engine says of an image (its inspect data), read once into a frozen record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def env_of(config: dict[str, Any]) -> dict[str, str]:
    """An image's or container's ``Config.Env`` list as a dict."""
    pairs = (item.partition("=") for item in config.get("Env") or [])
    return {key: value for key, _, value in pairs}


@dataclass(frozen=True)
class ImageInfo:
    id: str = ""
    tags: tuple[str, ...] = ()
    digests: tuple[str, ...] = ()
    user: str = ""
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    layers: tuple[str, ...] = ()
    exposed_ports: tuple[str, ...] = ()
    os: str = ""
    architecture: str = ""
    created: str = ""
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    working_dir: str = ""

    @property
    def command_line(self) -> tuple[str, ...]:
        """What the container runs when started as it is: ``ENTRYPOINT`` then ``CMD``."""
        return self.entrypoint + self.cmd

    @classmethod
    def from_attrs(cls, attrs: dict[str, Any]) -> ImageInfo:
        config = attrs.get("Config") or {}
        return cls(
            id=str(attrs.get("Id", "")),
            tags=tuple(attrs.get("RepoTags") or ()),
            digests=tuple(attrs.get("RepoDigests") or ()),
            user=str(config.get("User") or ""),
            env=env_of(config),
            labels=dict(config.get("Labels") or {}),
            layers=tuple((attrs.get("RootFS") or {}).get("Layers") or ()),
            exposed_ports=tuple(sorted(config.get("ExposedPorts") or {})),
            os=str(attrs.get("Os", "")),
            architecture=str(attrs.get("Architecture", "")),
            created=str(attrs.get("Created", "")),
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            working_dir=str(config.get("WorkingDir") or ""),
        )
