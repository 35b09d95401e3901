"""Resolved settings: command line, then ini, then spec file, then the option's default.

Every value is read by its option's kind in one place (``convert``); every error names the
source the bad value came from.
"""

from __future__ import annotations

import math
import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

from pytest_amlimage.config import catalog, deployment, instance_types, specfile
from pytest_amlimage.config.expectations import (
    Expectation,
    distribution_name,
    gather,
    merge,
    parse_expectation,
    parse_library_expectation,
    parse_requirements,
)
from pytest_amlimage.config.instance_types import InstanceType
from pytest_amlimage.config.names import PLUGIN_LABEL, check_references
from pytest_amlimage.config.options import BY_NAME, Option, default
from pytest_amlimage.errors import AmlUsageError


@dataclass(frozen=True)
class Settings:
    images: tuple[str, ...] = ()
    expectations: tuple[Expectation, ...] = ()
    framework: Expectation | None = None
    curated: str | None = None
    cuda: Expectation | None = None
    cudnn: Expectation | None = None
    gpu: bool = False
    requirements: Path | None = None
    entry_script: Path | None = None
    model_dir: Path | None = None
    samples: tuple[Path, ...] = ()
    command: tuple[str, ...] | None = None
    endpoint: deployment.Endpoint = field(default_factory=deployment.Endpoint)
    ready_timeout: float = deployment.Probe().budget
    score_timeout: float = cast(float, default("score_timeout"))
    rtol: float = cast(float, default("rtol"))
    atol: float = cast(float, default("atol"))
    memory: str = cast(str, default("memory"))
    cpus: float | None = None  # given: as is; else the instance type's, or 2, at most the engine's
    # what memory and CPUs come from, when no option gives them
    instance: InstanceType | None = None
    deployment_yaml: deployment.Deployment | None = None  # --aml-deployment's YAML, as read
    offline: bool = False  # also run with no network at all
    labels: tuple[tuple[str, str], ...] = ()
    docker_host: str | None = None  # None: the local socket
    baseline: str | None = None
    rebase: str | None = None
    max_base_age: int = cast(int, default("max_base_age"))
    lock: Path | None = None
    lock_update: bool = False
    allow: tuple[Expectation, ...] = ()
    allow_removed: tuple[str, ...] = ()
    max_slowdown: float | None = None
    reports: tuple[Path, ...] = ()
    build: Path | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    build_target: str | None = None
    rm_built: bool = False
    any_base: bool = False

    @property
    def active(self) -> bool:
        return bool(self.images or self.build)

    NOTHING_TO_TEST = (
        "pytest-amlimage options are set, but no image: the plugin does nothing. Pass --aml-image IMAGE, "
        "--aml-build DOCKERFILE or --aml-deployment YAML (or set image in the spec file)"
    )

    def expected_versions(
        self, row: catalog.CatalogEntry | None
    ) -> tuple[list[Expectation], Expectation | None]:
        """The packages a version check is about (the curated row's, overridden by the user's), and the framework."""
        framework = self.framework or (row.framework_expectation() if row else None)
        merged = merge(row.expectations() if row else [], list(self.expectations))
        return [e for e in merged if framework is None or e.name != framework.name], framework


@dataclass(frozen=True)
class Found:
    """A value as a source gave it: ``source`` names it in errors, ``base`` anchors relative paths."""

    value: Any
    source: str
    base: Path


class _Sources:
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

    def path(self, name: str) -> Path | None:
        return cast("Path | None", self._get(name))

    def paths(self, name: str) -> tuple[Path, ...]:
        return cast("tuple[Path, ...]", self._get(name) or ())


def _number(option: Option, found: Found) -> float:
    """A number of the option's kind; ints and ports whole, positives above 0, ports 1 to 65535."""
    whole = option.kind in ("int", "port")
    try:
        number = (int if whole else float)(str(found.value).strip())
    except (TypeError, ValueError):
        example = option.default if option.default is not None else 1
        what = "a whole number" if whole else "a number"
        raise AmlUsageError(
            f"{found.source} {found.value!r} is not {what}: give e.g. {example}"
        ) from None
    if not math.isfinite(number):
        raise AmlUsageError(f"{found.source} {found.value!r} is not a finite number: give e.g. 1")
    if number < 0:
        raise AmlUsageError(f"{found.source} {found.value!r} must not be negative")
    if option.kind == "positive" and number == 0:
        raise AmlUsageError(f"{found.source} {found.value!r} must be above 0")
    if option.kind == "port" and not 1 <= number <= 65535:
        raise AmlUsageError(f"{found.source} {found.value!r} is not a port: give 1 to 65535")
    return number


def _size(found: Found) -> str:
    """A memory size as Docker takes it (512m, 4g); Kubernetes' 2Gi is read too."""
    size = instance_types.size_bytes(str(found.value))
    if size is None or size < 6 * 1024**2:
        raise AmlUsageError(
            f"{found.source} {found.value!r} is not a memory size: give e.g. 512m or 4g (at least 6m)"
        )
    text = str(found.value).strip()
    return text if re.fullmatch(r"\d+[bkmg]?", text.lower()) else instance_types.docker_memory(size)


def _engine(found: Found) -> str:
    """A Docker engine's address, read by the Docker SDK's own parser (what DOCKER_HOST may hold)."""
    from docker.errors import DockerException
    from docker.utils import parse_host

    text = str(found.value).strip()
    try:
        parse_host(text, is_win32=False, tls=False)
    except (DockerException, ValueError) as error:
        raise AmlUsageError(
            f"{found.source} {found.value!r} is not a Docker engine's address ({error}): give e.g. "
            "unix:///var/run/docker.sock, tcp://HOST:2375 or ssh://USER@HOST"
        ) from None
    return text


FLAG_WORDS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}


def _flag(found: Found) -> bool:
    """On or off: a boolean, or a word that says so (true/false, yes/no, on/off, 1/0)."""
    if isinstance(found.value, bool):
        return found.value
    word = FLAG_WORDS.get(str(found.value).strip().lower())
    if word is None:
        raise AmlUsageError(f"{found.source} {found.value!r} is not on or off: give true or false")
    return word


def _path(found: Found, text: str, must_exist: bool, file: bool = False) -> Path:
    path = (found.base / text).resolve()
    if must_exist and not path.exists():
        raise AmlUsageError(f"{path} (from {found.source}) does not exist: check the path")
    if file and path.is_dir():
        raise AmlUsageError(f"{path} (from {found.source}) is a folder: name the file in it")
    if not must_exist and not path.parent.is_dir():
        raise AmlUsageError(f"{path.parent} (from {found.source}) is not a folder: check the path")
    return path


SCALARS = (str, int, float)


def _shape(option: Option, found: Found) -> None:
    """A spec file's value of the wrong type: a table, a list for one value, a number for a list."""
    value = found.value
    if option.repeatable:
        fits = isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, SCALARS) for item in value)
        )
        wanted = f'a list, e.g. {option.name} = ["..."]'
    else:
        fits = isinstance(value, (*SCALARS, bool))
        wanted = f'one value, e.g. {option.name} = "..."'
    if not fits:
        raise AmlUsageError(f"{found.source} {value!r} is not {wanted}")


def convert(option: Option, found: Found) -> Any:
    """The value ``found`` read as ``option.kind`` says; a usage error naming the source when it cannot be."""
    _shape(option, found)
    value = found.value
    texts = (
        tuple([value] if isinstance(value, str) else [str(v) for v in value])
        if option.repeatable
        else ()
    )
    if option.kind in ("float", "int", "positive", "port"):
        return _number(option, found)
    if option.kind == "size":
        return _size(found)
    if option.kind == "flag":
        return _flag(found)
    if option.kind == "engine":
        return _engine(found)
    if option.kind in ("path", "file", "outpath"):
        return _path(found, str(value), option.kind != "outpath", file=option.kind == "file")
    if option.kind in ("paths", "outpaths"):
        return tuple(_path(found, text, must_exist=option.kind == "paths") for text in texts)
    return texts if option.repeatable else str(value).strip()


def _curated(name: str | None, source: str) -> str | None:
    if name is not None and name.lower() != "auto":
        catalog.find(name, source)  # a usage error for an unknown name
    return name


def _command(values: _Sources) -> tuple[str, ...] | None:
    text = values.text("command")
    try:
        return tuple(shlex.split(text)) if text else None
    except ValueError as error:  # an unclosed quote
        raise AmlUsageError(
            f"cannot split the command {text!r} (from {values.source('command')}): {error}; quote it as a shell would"
        ) from None


def _gpu_library(values: _Sources, name: str) -> Expectation | None:
    text = values.text(name)
    return parse_library_expectation(text, values.source(name), name) if text is not None else None


def _pairs(values: _Sources, name: str) -> tuple[tuple[str, str], ...]:
    pairs = [value.partition("=") for value in values.texts(name)]
    for key, sep, _ in pairs:
        if not sep or not key or key.startswith(PLUGIN_LABEL):
            raise AmlUsageError(
                f"{values.source(name)} needs KEY=VALUE (and not the plugin's own {PLUGIN_LABEL}.*)"
            )
    return tuple((key, value) for key, _, value in pairs)


def _lock(values: _Sources, lock_update: bool) -> Path | None:
    lock = values.path("lock")
    if lock_update and lock is None:
        raise AmlUsageError("--aml-lock-update needs --aml-lock PATH: the file to write")
    if lock is not None and not lock_update and not lock.exists():
        raise AmlUsageError(f"{lock} (from {values.source('lock')}) does not exist: check the path")
    return lock


def _reports(values: _Sources) -> tuple[Path, ...]:
    reports = values.paths("report")
    for report in reports:
        if report.suffix not in (".json", ".md"):
            raise AmlUsageError(
                f"{values.source('report')} {str(report)!r}: the report file must end in .json or .md"
            )
    return reports


def _build(values: _Sources) -> Path | None:
    path = values.path("build")
    if path is not None and path.is_dir() and not (path / "Dockerfile").is_file():
        raise AmlUsageError(
            f"{path} (from {values.source('build')}) holds no Dockerfile: name the Dockerfile itself"
        )
    return path


def _check_contradictions(settings: Settings) -> Settings:
    if settings.gpu and settings.cuda is not None and settings.cuda.text == "none":
        raise AmlUsageError(
            "--aml-gpu and --aml-cuda none contradict each other: a GPU run needs CUDA; drop one"
        )
    if settings.rebase and settings.build is None:
        raise AmlUsageError(
            "--aml-rebase needs --aml-build=PATH: the Dockerfile to build on the new base"
        )
    if settings.rebase and settings.baseline:
        raise AmlUsageError(
            "--aml-rebase builds its own baseline (the Dockerfile as it is): drop --aml-baseline"
        )
    return settings


def _endpoint(values: _Sources, images: tuple[str, ...], build: Path | None) -> deployment.Endpoint:
    if values.deployment is None:
        return deployment.Endpoint.on_port(int(values.number("port")))
    if not images and build is None:
        raise AmlUsageError(
            f"{values.deployment.path} names no image to run here (its environment is in the cloud or unset): "
            "pass --aml-image=IMAGE"
        )
    return values.deployment.endpoint


def _requirements(values: _Sources) -> Path | None:
    """The requirements file, read now: a line pip would refuse is a usage error before anything starts."""
    path = values.path("requirements")
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise AmlUsageError(
                f"{path} (from {values.source('requirements')}) cannot be read: {error}"
            ) from None
        parse_requirements(lines, f"{path} (from {values.source('requirements')})")
    return path


def _entry_script(values: _Sources) -> Path | None:
    """The scoring script: a Python file, which the server imports by its suffix (anything else gives it no
    loader, and the server dies with 'NoneType' object has no attribute 'loader')."""
    path = values.path("entry_script")
    if path is not None and path.suffix != ".py":
        raise AmlUsageError(
            f"{path} (from {values.source('entry_script')}) is not a Python file: name the scoring script (*.py)"
        )
    return path


def _instance(values: _Sources) -> InstanceType | None:
    """The instance type to size the container as; one the YAML names but the table lacks is the deployment
    check's to report, one an option names is a usage error."""
    name, found = values.text("instance_type"), values.get("instance_type")
    if not name or found is None:
        return None
    if found.source.startswith("deployment "):
        return instance_types.find(name)
    return instance_types.require(name, found.source)


def _memory(values: _Sources, instance: InstanceType | None) -> str:
    """The container's memory limit: an option's (or the YAML's resources.limits), else the instance type's."""
    if values.get("memory") is None and instance is not None:
        return instance_types.docker_memory(instance.memory_bytes)
    return values.text("memory") or ""


def load(config: pytest.Config) -> Settings:
    """Every option read, by its kind, from where it was given: a bad value is a usage error now."""
    values = _Sources(config)
    images, build = check_references(values.texts("image"), values.source("image")), _build(values)
    endpoint = _endpoint(values, images, build)
    return _check_contradictions(
        Settings(
            images=images,
            endpoint=endpoint,
            build=build,
            **_what_to_expect(values, config),
            **_how_to_run(values, endpoint),
            **_what_to_compare(values),
            **_how_to_build(values),
        )
    )


def _what_to_expect(values: _Sources, config: pytest.Config) -> dict[str, Any]:
    """What the image must hold (versions, a curated row, CUDA, requirements) and answer (samples)."""
    framework = values.text("framework")
    return {
        "expectations": gather(
            values.spec.get("expect", {}),
            values.spec_name,
            config.getini("aml_expect"),
            config.getoption("aml_expect") or [],
        ),
        "framework": parse_expectation(framework, values.source("framework"))
        if framework
        else None,
        "curated": _curated(values.text("curated"), values.source("curated")),
        "cuda": _gpu_library(values, "cuda"),
        "cudnn": _gpu_library(values, "cudnn"),
        "requirements": _requirements(values),
        "samples": values.paths("sample"),
        "rtol": values.number("rtol"),
        "atol": values.number("atol"),
    }


def _how_to_run(values: _Sources, endpoint: deployment.Endpoint) -> dict[str, Any]:
    """The container: what it mounts and runs, its limits, its engine, its budgets."""
    instance = _instance(values)
    return {
        "gpu": values.flag("gpu"),
        "entry_script": _entry_script(values),
        "model_dir": values.path("model_dir"),
        "command": _command(values),
        "ready_timeout": values.optional_number("ready_timeout") or endpoint.liveness_probe.budget,
        "score_timeout": values.number("score_timeout"),
        "memory": _memory(values, instance),
        "cpus": values.optional_number("cpus"),
        "instance": instance,
        "deployment_yaml": values.deployment,
        "offline": values.flag("offline"),
        "labels": _pairs(values, "label"),
        "docker_host": values.text("docker_host"),
    }


def _what_to_compare(values: _Sources) -> dict[str, Any]:
    """The image against another: a baseline, a lock file, their allowances, the age of its base."""
    lock_update = values.flag("lock_update")
    allowed = (parse_expectation(text, values.source("allow")) for text in values.texts("allow"))
    return {
        "baseline": _reference(values, "baseline"),
        "max_base_age": int(values.number("max_base_age")),
        "lock": _lock(values, lock_update),
        "lock_update": lock_update,
        "allow": tuple(expectation for expectation in allowed if expectation),
        "allow_removed": tuple(distribution_name(name) for name in values.texts("allow_removed")),
        "max_slowdown": values.optional_number("max_slowdown"),
        "reports": _reports(values),
    }


def _how_to_build(values: _Sources) -> dict[str, Any]:
    """``--aml-build``'s arguments, and the base to rebuild on."""
    return {
        "rebase": _reference(values, "rebase"),
        "build_args": _pairs(values, "build_arg"),
        "build_target": values.text("build_target"),
        "rm_built": values.flag("rm_built"),
        "any_base": values.flag("any_base"),
    }


def _reference(values: _Sources, name: str) -> str | None:
    """An image reference an option names, checked as Docker would read it."""
    text = values.text(name)
    return check_references((text,), values.source(name))[0] if text else None
