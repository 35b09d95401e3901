"""Resolved settings: command line, then ini, then spec file, then defaults; every error names its source."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from . import catalog, cuda, engine, specfile
from .errors import AmlUsageError
from .expectations import Expectation, combine, distribution_name, expectation, merge, parse_expectation
from .options import BY_NAME

DEFAULTS: dict[str, Any] = {
    "port": 5001,
    "ready_timeout": 120.0,
    "score_timeout": 60.0,
    "rtol": 1e-6,
    "atol": 1e-9,
    "memory": "4g",
    "cpus": 2.0,
    "max_slowdown": 1.5,
}
_REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


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
    port: int = 5001
    ready_timeout: float = 120.0
    score_timeout: float = 60.0
    rtol: float = 1e-6
    atol: float = 1e-9
    memory: str = "4g"
    cpus: float = 2.0
    list_curated: bool = False
    labels: tuple[tuple[str, str], ...] = ()
    baseline: str | None = None
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


class _Sources:
    """Looks an option up on the command line, in ini, then in the spec file."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.spec: dict[str, Any] = {}
        self.spec_dir = Path.cwd()
        self.spec_name = ""
        found = self.get("spec")
        if found is not None:
            path = self.path(*found)
            self.spec, self.spec_dir, self.spec_name = specfile.load(path, found[1]), path.parent, str(path)

    def get(self, name: str) -> tuple[Any, str] | None:
        option = BY_NAME[name]
        value = self.config.getoption(option.ini)
        if value not in (None, [], False):
            return value, option.flag
        value = self.config.getini(option.ini)
        if value not in (None, "", [], False):
            return value, f"ini {option.ini}"
        if name in self.spec:
            return self.spec[name], f"spec file {self.spec_name}"
        return None

    def path(self, value: Any, source: str, must_exist: bool = True) -> Path:
        if source.startswith("spec file"):
            base = self.spec_dir
        elif source.startswith("ini"):
            base = self.config.rootpath
        else:
            base = Path.cwd()
        path = (base / str(value)).resolve()
        if must_exist and not path.exists():
            raise AmlUsageError(f"{path} (from {source}) does not exist: check the path")
        if not must_exist and not path.parent.is_dir():
            raise AmlUsageError(f"{path.parent} (from {source}) is not a folder: check the path")
        return path


def _number(sources: _Sources, name: str, kind: type[float] | type[int]) -> Any:
    found = sources.get(name)
    if found is None:
        return DEFAULTS[name]
    value, source = found
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise AmlUsageError(f"{source} {value!r} is not a number: give e.g. {DEFAULTS[name]}") from None
    if number < 0:
        raise AmlUsageError(f"{source} {value!r} must not be negative")
    return number


def _listed(sources: _Sources, name: str) -> tuple[list[str], str]:
    found = sources.get(name)
    if found is None:
        return [], ""
    value, source = found
    return ([value] if isinstance(value, str) else [str(v) for v in value]), source


def _expectations(sources: _Sources, config: pytest.Config) -> tuple[Expectation, ...]:
    spec_items = [
        expectation(name, str(spec), f"spec file {sources.spec_name} [expect]")
        for name, spec in sources.spec.get("expect", {}).items()
    ]
    ini_items = [parse_expectation(line, "ini aml_expect") for line in config.getini("aml_expect")]
    cli_items = [parse_expectation(text, "--aml-expect") for text in config.getoption("aml_expect") or []]
    return merge(*(combine([e for e in group if e is not None]) for group in (spec_items, ini_items, cli_items)))


def _images(sources: _Sources) -> tuple[str, ...]:
    return _images_from(*_listed(sources, "image"))


def _images_from(images: list[str], source: str) -> tuple[str, ...]:
    for reference in images:
        if not _REFERENCE.match(reference):
            raise AmlUsageError(
                f"invalid image reference {reference!r} (from {source}): use NAME[:TAG] or NAME@sha256:DIGEST"
            )
    return tuple(dict.fromkeys(images))


def _curated(value: Any, source: str) -> str:
    name = str(value).strip()
    if name.lower() != "auto":
        catalog.find(name)  # a usage error for an unknown name
    return name


def _gpu_library(sources: _Sources, name: str) -> Expectation | None:
    found = sources.get(name)
    return cuda.parse_expectation(str(found[0]), found[1], name) if found else None


def _comparison(sources: _Sources) -> dict[str, Any]:
    baseline = sources.get("baseline")
    lock = sources.get("lock")
    lock_update = _flag(sources, "lock_update")
    if lock_update and lock is None:
        raise AmlUsageError("--aml-lock-update needs --aml-lock PATH: the file to write")
    allow, allow_source = _listed(sources, "allow")
    reports, report_source = _listed(sources, "report")
    for report in reports:
        if not report.endswith((".json", ".md")):
            raise AmlUsageError(f"{report_source} {report!r}: the report file must end in .json or .md")
    slowdown = sources.get("max_slowdown")
    return {
        "baseline": _images_from([baseline[0]], baseline[1])[0] if baseline else None,
        "lock": sources.path(*lock, must_exist=not lock_update) if lock else None,
        "lock_update": lock_update,
        "allow": tuple(e for e in (parse_expectation(a, allow_source) for a in allow) if e),
        "allow_removed": tuple(distribution_name(n) for n in _listed(sources, "allow_removed")[0]),
        "max_slowdown": _number(sources, "max_slowdown", float) if slowdown else None,
        "reports": tuple(sources.path(r, report_source, must_exist=False) for r in reports),
    }


def _pairs(sources: _Sources, name: str) -> tuple[tuple[str, str], ...]:
    values, source = _listed(sources, name)
    pairs = [value.partition("=") for value in values]
    for key, sep, _ in pairs:
        if not sep or not key or key.startswith(engine.PLUGIN_LABEL):
            raise AmlUsageError(f"{source} needs KEY=VALUE (and not the plugin's own {engine.PLUGIN_LABEL}.*)")
    return tuple((key, value) for key, _, value in pairs)


def _flag(sources: _Sources, name: str) -> bool:
    found = sources.get(name)
    return bool(found[0]) if found else False


def _building(sources: _Sources) -> dict[str, Any]:
    build, target = sources.get("build"), sources.get("build_target")
    path = sources.path(*build) if build else None
    if build and path is not None and path.is_dir() and not (path / "Dockerfile").is_file():
        raise AmlUsageError(f"{path} (from {build[1]}) holds no Dockerfile: name the Dockerfile itself")
    return {
        "build": path,
        "build_args": _pairs(sources, "build_arg"),
        "build_target": str(target[0]) if target else None,
        "rm_built": _flag(sources, "rm_built"),
        "any_base": _flag(sources, "any_base"),
    }


def _check_contradictions(settings: Settings) -> Settings:
    if settings.gpu and settings.cuda is not None and settings.cuda.text == "none":
        raise AmlUsageError("--aml-gpu and --aml-cuda none contradict each other: a GPU run needs CUDA; drop one")
    return settings


def load(config: pytest.Config) -> Settings:
    sources = _Sources(config)
    framework = sources.get("framework")
    requirements, entry_script, model_dir = (sources.get(n) for n in ("requirements", "entry_script", "model_dir"))
    samples, sample_source = _listed(sources, "sample")
    command, curated, memory = (sources.get(n) for n in ("command", "curated", "memory"))
    return _check_contradictions(
        Settings(
            images=_images(sources),
            expectations=_expectations(sources, config),
            framework=parse_expectation(*framework) if framework else None,
            curated=_curated(*curated) if curated else None,
            cuda=_gpu_library(sources, "cuda"),
            cudnn=_gpu_library(sources, "cudnn"),
            gpu=_flag(sources, "gpu"),
            requirements=sources.path(*requirements) if requirements else None,
            entry_script=sources.path(*entry_script) if entry_script else None,
            model_dir=sources.path(*model_dir) if model_dir else None,
            samples=tuple(sources.path(s, sample_source) for s in samples),
            command=tuple(shlex.split(str(command[0]))) if command else None,
            port=_number(sources, "port", int),
            ready_timeout=_number(sources, "ready_timeout", float),
            score_timeout=_number(sources, "score_timeout", float),
            rtol=_number(sources, "rtol", float),
            atol=_number(sources, "atol", float),
            memory=str(memory[0]) if memory else DEFAULTS["memory"],
            cpus=_number(sources, "cpus", float),
            list_curated=bool(config.getoption("aml_list_curated")),
            labels=_pairs(sources, "label"),
            **_comparison(sources),
            **_building(sources),
        )
    )
