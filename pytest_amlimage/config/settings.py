"""Resolved settings, read in four typed groups (what to expect, how to run, what to compare, how to build).

Where a value comes from is ``sources``' business, how each kind is read ``kinds``'; every error names the
source the bad value came from. Each group is a TypedDict, so mypy checks every key it gives ``Settings``.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import pytest

from pytest_amlimage.config import catalog, deployment, instance_types
from pytest_amlimage.config import options as o
from pytest_amlimage.config.deployment import BatchSettings
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
from pytest_amlimage.config.sources import Sources
from pytest_amlimage.errors import AmlUsageError

DEFAULT_MEMORY = o.default_of(o.MEMORY)


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
    score_timeout: float = o.default_of(o.SCORE_TIMEOUT)
    rtol: float = o.default_of(o.RTOL)
    atol: float = o.default_of(o.ATOL)
    memory: int = DEFAULT_MEMORY  # bytes
    cpus: float | None = None  # given: as is; else the instance type's, or 2, at most the engine's
    # what memory and CPUs come from, when no option gives them
    instance: InstanceType | None = None
    deployment_yaml: deployment.Deployment | None = None  # --aml-deployment's YAML, as read
    batch_input: Path | None = None  # the files a batch deployment scores
    batch_outputs: Path | None = None  # where a batch run's outputs come back to
    offline: bool = False  # also run with no network at all
    labels: tuple[tuple[str, str], ...] = ()
    docker_host: str | None = None  # None: the local socket
    baseline: str | None = None
    rebase: str | None = None
    max_base_age: int = o.default_of(o.MAX_BASE_AGE)
    lock: Path | None = None
    lock_update: bool = False
    allow: tuple[Expectation, ...] = ()
    allow_removed: tuple[str, ...] = ()
    max_slowdown: float | None = None
    capacity: bool = False  # measure how much the image serves (--aml-capacity)
    capacity_types: tuple[InstanceType, ...] = ()  # the instance types it measures on
    capacity_budget: float = o.default_of(o.CAPACITY_BUDGET)  # seconds a type
    latency_p95_ms: float | None = None  # the bound, else request_timeout_ms
    target_rps: float | None = None
    reports: tuple[Path, ...] = ()
    sbom: Path | None = None  # the bill of materials to write (CycloneDX JSON)
    build: Path | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    build_target: str | None = None
    rm_built: bool = False
    any_base: bool = False

    @property
    def allowed_types(self) -> tuple[InstanceType, ...]:
        """A deployment template's allowed instance types that the table knows (the others are the
        deployment check's to name)."""
        names = self.deployment_yaml.allowed_instance_types if self.deployment_yaml else ()
        return tuple(found for found in map(instance_types.find, names) if found is not None)

    @property
    def batch(self) -> BatchSettings | None:
        """A batch deployment's settings: the run is a batch job, not an online endpoint."""
        return self.deployment_yaml.batch if self.deployment_yaml else None

    @property
    def latency_bound(self) -> tuple[float, str]:
        """The capacity run's latency bound (p95, ms), and where it comes from."""
        if self.latency_p95_ms is not None:
            return self.latency_p95_ms, "--aml-latency-p95"
        return self.endpoint.request_timeout_ms, f"request_timeout_ms, from {self.endpoint.source}"

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
    text = values.value(o.COMMAND)
    try:
        return tuple(shlex.split(text)) if text else None
    except ValueError as error:  # an unclosed quote
        raise AmlUsageError(
            f"cannot split the command {text!r} (from {values.source(o.COMMAND)}): {error}; quote it as a shell would"
        ) from None


def _gpu_library(values: Sources, option: o.Option[str | None]) -> Expectation | None:
    text = values.value(option)
    return (
        parse_library_expectation(text, values.source(option), option.name)
        if text is not None
        else None
    )


def _pairs(values: Sources, option: o.Option[tuple[str, ...]]) -> tuple[tuple[str, str], ...]:
    pairs = [value.partition("=") for value in values.value(option)]
    for key, sep, _ in pairs:
        if not sep or not key or key.startswith(PLUGIN_LABEL):
            raise AmlUsageError(
                f"{values.source(option)} needs KEY=VALUE (and not the plugin's own {PLUGIN_LABEL}.*)"
            )
    return tuple((key, value) for key, _, value in pairs)


def _lock(values: Sources, lock_update: bool) -> Path | None:
    lock = values.value(o.LOCK)
    if lock_update and lock is None:
        raise AmlUsageError("--aml-lock-update needs --aml-lock PATH: the file to write")
    if lock is not None and not lock_update and not lock.exists():
        raise AmlUsageError(f"{lock} (from {values.source(o.LOCK)}) does not exist: check the path")
    return lock


def _reports(values: Sources) -> tuple[Path, ...]:
    reports = values.value(o.REPORT)
    for report in reports:
        if report.suffix not in (".json", ".md"):
            raise AmlUsageError(
                f"{values.source(o.REPORT)} {str(report)!r}: the report file must end in .json or .md"
            )
    return reports


def _build(values: Sources) -> Path | None:
    path = values.value(o.BUILD)
    if path is not None and path.is_dir() and not (path / "Dockerfile").is_file():
        raise AmlUsageError(
            f"{path} (from {values.source(o.BUILD)}) holds no Dockerfile: name the Dockerfile itself"
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
        return deployment.Endpoint.on_port(values.value(o.PORT))
    if not images and build is None and values.value(o.MLFLOW_MODEL) is None:
        where = (
            "a deployment template names a registry environment, which cannot be pulled here"
            if values.deployment.kind == "deployment template"
            else "its environment is in the cloud or unset"
        )
        raise AmlUsageError(
            f"{values.deployment.path} names no image to run here ({where}): pass --aml-image=IMAGE"
        )
    return values.deployment.endpoint


def _mlflow_model(values: Sources) -> Path | None:
    """An MLflow model folder: one with an ``MLmodel`` file (the platform reads it, and so do the checks)."""
    path = values.value(o.MLFLOW_MODEL)
    if path is not None and not (path / "MLmodel").is_file():
        raise AmlUsageError(
            f"{path} (from {values.source(o.MLFLOW_MODEL)}) is not an MLflow model: it has no MLmodel file; "
            "give the folder mlflow.save_model wrote"
        )
    return path


def _requirements(values: Sources) -> Path | None:
    """The requirements file, read now: a line pip would refuse is a usage error before anything starts."""
    path = values.value(o.REQUIREMENTS)
    if path is not None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise AmlUsageError(
                f"{path} (from {values.source(o.REQUIREMENTS)}) cannot be read: {error}"
            ) from None
        parse_requirements(lines, f"{path} (from {values.source(o.REQUIREMENTS)})")
    return path


def _entry_script(values: Sources) -> Path | None:
    """The scoring script: a Python file, which the server imports by its suffix (anything else gives it no
    loader, and the server dies with 'NoneType' object has no attribute 'loader')."""
    path = values.value(o.ENTRY_SCRIPT)
    if path is not None and path.suffix != ".py":
        raise AmlUsageError(
            f"{path} (from {values.source(o.ENTRY_SCRIPT)}) is not a Python file: name the scoring script (*.py)"
        )
    return path


# what a batch job has no use for: it serves nothing
ONLINE_ONLY = (
    o.SAMPLE,
    o.COMMAND,
    o.PORT,
    o.READY_TIMEOUT,
    o.SCORE_TIMEOUT,
    o.OFFLINE,
    o.MAX_SLOWDOWN,
    o.CAPACITY,
    o.LATENCY_P95,
    o.TARGET_RPS,
)


def batch_input(values: Sources) -> Path | None:
    """The files a batch deployment scores: required with one, refused without; never an empty folder."""
    yaml, path = values.deployment, values.value(o.BATCH_INPUT)
    if yaml is None or yaml.batch is None:
        if path is not None:
            raise AmlUsageError(
                f"{o.BATCH_INPUT.flag} (from {values.source(o.BATCH_INPUT)}) is for a batch deployment: pass "
                f"one with --aml-deployment=YAML, or drop {o.BATCH_INPUT.flag}"
            )
        return None
    if path is None:
        raise AmlUsageError(
            f"{yaml.path} is a batch deployment: give the files it scores with {o.BATCH_INPUT.flag}=PATH "
            "(a file or a folder of files)"
        )
    for option in ONLINE_ONLY:
        found = values.get(option)
        if found is not None:
            raise AmlUsageError(
                f"{option.flag} (from {found.source}) is for online deployments, and {yaml.path} is a batch "
                f"deployment, which serves nothing: drop {option.flag}"
            )
    if path.is_dir() and not any(child.is_file() for child in path.iterdir()):
        raise AmlUsageError(
            f"{path} (from {values.source(o.BATCH_INPUT)}) holds no files to score (nested folders are not "
            "read, as on the platform): give a folder with files in it"
        )
    return path.resolve()


def batch_outputs(config: pytest.Config) -> Path:
    """Where a batch run's outputs come back to: beside the JUnit report, else in pytest's cache folder."""
    xml = getattr(getattr(config, "option", None), "xmlpath", None)  # pytest's --junitxml
    if xml:
        return Path(str(xml)).resolve().parent / "amlimage-batch"
    return config.rootpath / ".pytest_cache" / "amlimage-batch"


def _named_types(values: Sources) -> tuple[InstanceType | None, ...]:
    """Each instance type named: one the YAML names but the table lacks is None (the deployment check's to
    report), one an option names is a usage error."""
    names, found = values.value(o.INSTANCE_TYPE), values.get(o.INSTANCE_TYPE)
    if found is None:
        return ()
    if found.source.startswith("deployment "):
        return tuple(map(instance_types.find, names))
    return tuple(instance_types.require(name, found.source) for name in names)


def _instance(values: Sources) -> InstanceType | None:
    """The instance type to size the container as: the first named."""
    named = _named_types(values)
    return named[0] if named else None


def _memory(values: Sources, instance: InstanceType | None) -> int:
    """The container's memory limit in bytes: an option's (or the YAML's resources.limits), else the
    instance type's, else the option's default."""
    if values.get(o.MEMORY) is None:
        return instance.memory_bytes if instance is not None else DEFAULT_MEMORY
    return values.value(o.MEMORY) or DEFAULT_MEMORY


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
    batch_input: Path | None
    batch_outputs: Path | None
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


class HowMuch(TypedDict):
    capacity: bool
    capacity_types: tuple[InstanceType, ...]
    capacity_budget: float
    latency_p95_ms: float | None
    target_rps: float | None


class HowToBuild(TypedDict):
    rebase: str | None
    build_args: tuple[tuple[str, str], ...]
    build_target: str | None
    rm_built: bool
    any_base: bool


def load(config: pytest.Config) -> Settings:
    """Every option read, by its kind, from where it was given: a bad value is a usage error now."""
    values = Sources(config)
    images, build = check_references(values.value(o.IMAGE), values.source(o.IMAGE)), _build(values)
    if not images and build is None and values.value(o.MLFLOW_MODEL) is not None:
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
            **_how_much(values),
        )
    )


def _what_to_expect(values: Sources, config: pytest.Config) -> WhatToExpect:
    """What the image must hold (versions, a curated row, CUDA, requirements) and answer (samples)."""
    framework, table = values.value(o.FRAMEWORK), values.spec.get("expect", {})
    return {
        "expectations": gather(
            table if isinstance(table, dict) else {},
            values.spec_name,
            config.getini("aml_expect"),
            config.getoption("aml_expect") or [],
        ),
        "framework": parse_expectation(framework, values.source(o.FRAMEWORK))
        if framework
        else None,
        "curated": _curated(values.value(o.CURATED), values.source(o.CURATED)),
        "cuda": _gpu_library(values, o.CUDA),
        "cudnn": _gpu_library(values, o.CUDNN),
        "requirements": _requirements(values),
        "samples": values.value(o.SAMPLE),
        "rtol": values.value(o.RTOL),
        "atol": values.value(o.ATOL),
    }


def _how_to_run(values: Sources, endpoint: deployment.Endpoint) -> HowToRun:
    """The container: what it mounts and runs, its limits, its engine, its budgets."""
    instance = _instance(values)
    return {
        "gpu": values.value(o.GPU),
        "entry_script": _entry_script(values),
        "model_dir": values.value(o.MODEL_DIR),
        "mlflow_model": _mlflow_model(values),
        "command": _command(values),
        "ready_timeout": values.value(o.READY_TIMEOUT) or endpoint.liveness_probe.budget,
        "score_timeout": values.value(o.SCORE_TIMEOUT),
        "memory": _memory(values, instance),
        "cpus": values.value(o.CPUS),
        "instance": instance,
        "deployment_yaml": values.deployment,
        "batch_input": batch_input(values),
        "batch_outputs": batch_outputs(values.config) if values.deployment else None,
        "offline": values.value(o.OFFLINE),
        "labels": _pairs(values, o.LABEL),
        "docker_host": values.value(o.DOCKER_HOST),
    }


def _what_to_compare(values: Sources) -> WhatToCompare:
    """The image against another: a baseline, a lock file, their allowances, the age of its base."""
    lock_update = values.value(o.LOCK_UPDATE)
    allowed = (parse_expectation(text, values.source(o.ALLOW)) for text in values.value(o.ALLOW))
    return {
        "baseline": _reference(values, o.BASELINE),
        "max_base_age": values.value(o.MAX_BASE_AGE),
        "lock": _lock(values, lock_update),
        "lock_update": lock_update,
        "allow": tuple(expectation for expectation in allowed if expectation),
        "allow_removed": tuple(distribution_name(name) for name in values.value(o.ALLOW_REMOVED)),
        "max_slowdown": values.value(o.MAX_SLOWDOWN),
        "reports": _reports(values),
        "sbom": values.value(o.SBOM),
    }


def _how_much(values: Sources) -> HowMuch:
    """The capacity run: on a template's allowed types, else each instance type named (the YAML's, or each the
    options give)."""
    yaml = values.deployment
    # a template's allowed types: unknown ones are the deployment check's
    allowed = yaml.allowed_instance_types if yaml is not None else ()
    types = tuple(map(instance_types.find, allowed)) if allowed else _named_types(values)
    return {
        "capacity": values.value(o.CAPACITY),
        "capacity_types": tuple(t for t in types if t is not None),
        "capacity_budget": values.value(o.CAPACITY_BUDGET),
        "latency_p95_ms": values.value(o.LATENCY_P95),
        "target_rps": values.value(o.TARGET_RPS),
    }


def _how_to_build(values: Sources) -> HowToBuild:
    """``--aml-build``'s arguments, and the base to rebuild on."""
    return {
        "rebase": _reference(values, o.REBASE),
        "build_args": _pairs(values, o.BUILD_ARG),
        "build_target": values.value(o.BUILD_TARGET),
        "rm_built": values.value(o.RM_BUILT),
        "any_base": values.value(o.ANY_BASE),
    }


def _reference(values: Sources, option: o.Option[str | None]) -> str | None:
    """An image reference an option names, checked as Docker would read it."""
    text = values.value(option)
    return check_references((text,), values.source(option))[0] if text else None
