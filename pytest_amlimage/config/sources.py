"""Where an option's value comes from: the command line, then ini, the spec file, the deployment YAML, then
the environment; each value read by its option's kind."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import pytest

from pytest_amlimage.config import deployment, specfile
from pytest_amlimage.config.kinds import Found, convert
from pytest_amlimage.config.options import BY_NAME


class Sources:
    """Looks an option up on the command line, in ini, the spec file, then the deployment YAML; converts it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.spec: dict[str, Any] = {}
        self.spec_name = ""
        self.spec_dir = Path.cwd()
        self.deployment: deployment.Deployment | None = None
        found = self.get("spec")
        if found is not None:
            path = convert(BY_NAME["spec"], found)
            self.spec, self.spec_dir, self.spec_name = (
                specfile.load(path, found.source),
                path.parent,
                str(path),
            )
        yaml = self.path("deployment")
        self.deployment = (
            deployment.load(yaml, int(self.number("port")), self.source("deployment"))
            if yaml is not None
            else None
        )

    def get(self, name: str) -> Found | None:
        option = BY_NAME[name]
        value = self.config.getoption(option.ini)
        if value not in (None, [], False):
            return Found(value, option.flag, Path.cwd())
        value = self.config.getini(option.ini) if not option.cli_only else None
        if value not in (None, "", [], False):
            return Found(value, f"ini {option.ini}", self.config.rootpath)
        if name in self.spec:
            return Found(self.spec[name], f"spec file {self.spec_name} key {name}", self.spec_dir)
        if self.deployment is not None and name in self.deployment.options:
            yaml = self.deployment
            return Found(yaml.options[name], yaml.source(name), yaml.path.parent)
        if option.env and os.environ.get(option.env):
            return Found(os.environ[option.env], option.env, Path.cwd())
        return None

    def source(self, name: str) -> str:
        found = self.get(name)
        return found.source if found else BY_NAME[name].flag

    def _get(self, name: str) -> Any:
        found = self.get(name)
        return BY_NAME[name].default if found is None else convert(BY_NAME[name], found)

    def text(self, name: str) -> str | None:
        return cast("str | None", self._get(name))

    def texts(self, name: str) -> tuple[str, ...]:
        return cast("tuple[str, ...]", self._get(name) or ())

    def number(self, name: str) -> float:
        return float(self._get(name))

    def optional_number(self, name: str) -> float | None:
        value = self._get(name)
        return None if value is None else float(value)

    def flag(self, name: str) -> bool:
        return bool(self._get(name))

    def size(self, name: str) -> int | None:
        return cast("int | None", self._get(name))

    def path(self, name: str) -> Path | None:
        return cast("Path | None", self._get(name))

    def paths(self, name: str) -> tuple[Path, ...]:
        return cast("tuple[Path, ...]", self._get(name) or ())
