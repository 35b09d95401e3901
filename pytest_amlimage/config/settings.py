"""Resolved settings, read in four typed groups (what to expect, how to run, what to compare, how to build).

Where a value comes from is ``sources``' business, how each kind is read ``kinds``'; every error names the
source the bad value came from. Each group is a TypedDict, so mypy checks every key it gives ``Settings``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict, cast

import pytest

from pytest_amlimage.config import catalog, deployment, instance_types
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
from pytest_amlimage.config.options import default
from pytest_amlimage.config.sources import Sources
from pytest_amlimage.errors import AmlUsageError

DEFAULT_MEMORY = cast(int, instance_types.memory_bytes(cast(str, default("memory"))))


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
    mlflow_model: Path | None = None  # served by the image's own MLflow scoring script
    samples: tuple[Path, ...] = ()
    command: tuple[str, ...] | None = None
    endpoint: deployment.Endpoint = field(default_factory=deployment.Endpoint)
    ready_timeout: float = deployment.Probe().budget
    score_timeout: float = cast(float, default("score_timeout"))
    rtol: float = cast(float, default("rtol"))
    atol: float = cast(float, default("atol"))
    memory: int = DEFAULT_MEMORY  # bytes
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
    sbom: Path | None = None  # the bill of materials to write (CycloneDX JSON)
    build: Path | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    build_target: str | None = None
    rm_built: bool = False
    any_base: bool = False

    @property
    def gpu_instance(self) -> bool:
        """The run is sized as an instance type with GPUs, whatever named it (an option or the YAML)."""
        return self.instance is not None and self.instance.gpus > 0

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


def _curated(name: str | None, source: str) -> str | None:
    if name is not None and name.lower() != "auto":
        catalog.find(name, source)  # a usage error for an unknown name
    return name


def _command(values: Sources) -> tuple[str, ...] | None:
    text = values.text("command")
    try:
        return tuple(shlex.split(text)) if text else None
    except ValueError as error:  # an unclosed quote
        raise AmlUsageError(
            f"cannot split the command {text!r} (from {values.source('command')}): {error}; quote it as a shell would"
        ) from None


def _gpu_library(values: Sources, name: str) -> Expectation | None:
    text = values.text(name)
    return parse_library_expectation(text, values.source(name), name) if text is not None else None


def _pairs(values: Sources, name: str) -> tuple[tuple[str, str], ...]:
    pairs = [value.partition("=") for value in values.texts(name)]
    for key, sep, _ in pairs:
        if not sep or not key or key.startswith(PLUGIN_LABEL):
            raise AmlUsageError(
                f"{values.source(name)} needs KEY=VALUE (and not the plugin's own {PLUGIN_LABEL}.*)"
            )
    return tuple((key, value) for key, _, value in pairs)


def _lock(values: Sources, lock_update: bool) -> Path | None:
    lock = values.path("lock")
    if lock_update and lock is None:
        raise AmlUsageError("--aml-lock-update needs --aml-lock PATH: the file to write")
    if lock is not None and not lock_update and not lock.exists():
        raise AmlUsageError(f"{lock} (from {values.source('lock')}) does not exist: check the path")
    return lock


def _reports(values: Sources) -> tuple[Path, ...]:
    reports = values.paths("report")
    for report in reports:
        if report.suffix not in (".json", ".md"):
            raise AmlUsageError(
                f"{values.source('report')} {str(report)!r}: the report file must end in .json or .md"
            )
    return reports


def _build(values: Sources) -> Path | None:
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


def _endpoint(values: Sources, images: tuple[str, ...], build: Path | None) -> deployment.Endpoint:
    if values.deployment is None:
        return deployment.Endpoint.on_port(int(values.number("port")))
    if not images and build is None and values.path("mlflow_model") is None:
        raise AmlUsageError(
            f"{values.deployment.path} names no image to run here (its environment is in the cloud or unset): "
            "pass --aml-image=IMAGE"
        )
    return values.deployment.endpoint


def _mlflow_model(values: Sources) -> Path | None:
    """An MLflow model folder: one with an ``MLmodel`` file (the platform reads it, and so do the checks)."""
    path = values.path("mlflow_model")
    if path is not None and not (path / "MLmodel").is_file():
        raise AmlUsageError(
            f"{path} (from {values.source('mlflow_model')}) is not an MLflow model: it has no MLmodel file; "
            "give the folder mlflow.save_model wrote"
        )
    return path


def _requirements(values: Sources) -> Path | None:
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


def _entry_script(values: Sources) -> Path | None:
    """The scoring script: a Python file, which the server imports by its suffix (anything else gives it no
    loader, and the server dies with 'NoneType' object has no attribute 'loader')."""
    path = values.path("entry_script")
    if path is not None and path.suffix != ".py":
        raise AmlUsageError(
            f"{path} (from {values.source('entry_script')}) is not a Python file: name the scoring script (*.py)"
        )
    return path


def _instance(values: Sources) -> InstanceType | None:
    """The instance type to size the container as; one the YAML names but the table lacks is the deployment
    check's to report, one an option names is a usage error."""
    name, found = values.text("instance_type"), values.get("instance_type")
    if not name or found is None:
        return None
    if found.source.startswith("deployment "):
        return instance_types.find(name)
    return instance_types.require(name, found.source)


def _memory(values: Sources, instance: InstanceType | None) -> int:
    """The container's memory limit in bytes: an option's (or the YAML's resources.limits), else the
    instance type's, else the option's default."""
    if values.get("memory") is None:
        return instance.memory_bytes if instance is not None else DEFAULT_MEMORY
    return values.size("memory") or DEFAULT_MEMORY


class WhatToExpect(TypedDict):
    expectations: tuple[Expectation, ...]
    framework: Expectation | None
    curated: str | None
    cuda: Expectation | None
    cudnn: Expectation | None
    requirements: Path | None
    samples: tuple[Path, ...]
    rtol: float
    atol: float


class HowToRun(TypedDict):
    gpu: bool
    entry_script: Path | None
    model_dir: Path | None
    mlflow_model: Path | None
    command: tuple[str, ...] | None
    ready_timeout: float
    score_timeout: float
    memory: int
    cpus: float | None
    instance: InstanceType | None
    deployment_yaml: deployment.Deployment | None
    offline: bool
    labels: tuple[tuple[str, str], ...]
    docker_host: str | None


class WhatToCompare(TypedDict):
    baseline: str | None
    max_base_age: int
    lock: Path | None
    lock_update: bool
    allow: tuple[Expectation, ...]
    allow_removed: tuple[str, ...]
    max_slowdown: float | None
    reports: tuple[Path, ...]
    sbom: Path | None


class HowToBuild(TypedDict):
    rebase: str | None
    build_args: tuple[tuple[str, str], ...]
    build_target: str | None
    rm_built: bool
    any_base: bool


def load(config: pytest.Config) -> Settings:
    """Every option read, by its kind, from where it was given: a bad value is a usage error now."""
    values = Sources(config)
    images, build = check_references(values.texts("image"), values.source("image")), _build(values)
    if not images and build is None and values.path("mlflow_model") is not None:
        images = (catalog.MLFLOW_IMAGE,)  # no-code: the platform's curated MLflow image
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


def _what_to_expect(values: Sources, config: pytest.Config) -> WhatToExpect:
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


def _how_to_run(values: Sources, endpoint: deployment.Endpoint) -> HowToRun:
    """The container: what it mounts and runs, its limits, its engine, its budgets."""
    instance = _instance(values)
    return {
        "gpu": values.flag("gpu"),
        "entry_script": _entry_script(values),
        "model_dir": values.path("model_dir"),
        "mlflow_model": _mlflow_model(values),
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


def _what_to_compare(values: Sources) -> WhatToCompare:
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
        "sbom": values.path("sbom"),
    }


def _how_to_build(values: Sources) -> HowToBuild:
    """``--aml-build``'s arguments, and the base to rebuild on."""
    return {
        "rebase": _reference(values, "rebase"),
        "build_args": _pairs(values, "build_arg"),
        "build_target": values.text("build_target"),
        "rm_built": values.flag("rm_built"),
        "any_base": values.flag("any_base"),
    }


def _reference(values: Sources, name: str) -> str | None:
    """An image reference an option names, checked as Docker would read it."""
    text = values.text(name)
    return check_references((text,), values.source(name))[0] if text else None
