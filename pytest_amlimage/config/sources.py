"""Where an option's value comes from: the command line, then ini, the spec file, the deployment YAML, then
the environment; each value read by its option's own reader (``Option[T]`` gives a ``T``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, TypeVar

import pytest

from pytest_amlimage.config import deployment, deployment_kinds, specfile
from pytest_amlimage.config import options as o
from pytest_amlimage.config.kinds import Found

T = TypeVar("T")


class Sources:
    """Looks an option up on the command line, in ini, the spec file, then the deployment YAML; reads it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.spec: dict[str, object] = {}
        self.spec_name = ""
        self.spec_dir = Path.cwd()
        self.deployment: deployment.Deployment | None = None
        spec = self.value(o.SPEC)
        if spec is not None:
            self.spec = specfile.load(spec, self.source(o.SPEC))
            self.spec_dir, self.spec_name = spec.parent, str(spec)
        yaml = self.value(o.DEPLOYMENT)
        if yaml is not None:
            port = self.value(o.PORT)
            self.deployment = deployment_kinds.load(yaml, port, self.source(o.DEPLOYMENT))

    def get(self, option: o.Option[Any]) -> Found | None:
        """Where ``option`` was given, and as what; None when nowhere."""
        name = option.name
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

    def value(self, option: o.Option[T]) -> T:
        """The option's value, read as its kind (its default when no source gives it)."""
        return option.read(option, self.get(option))

    def source(self, option: o.Option[T]) -> str:
        found = self.get(option)
        return found.source if found else option.flag
