"""Which built-in checks apply to an image, in the order they run: the one place checks are assembled.

One generator per family, each given the settings. Every check is bound the same way,
``Check(id, body, (inputs...))``, its body a function of its family's module (``dockerfile``, ``user``,
``image_config``, ``base_age``, ``versions``, ``gpu``, ``server``, ``scoring``, ``baseline``); inputs known
only once the container runs are bound as ``Later(getter)``. No check reaches for the run itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import partial
from typing import Any, Protocol

from pytest_amlimage.checks import (
    base_age,
    baseline,
    deployment_yaml,
    dockerfile,
    gpu,
    image_config,
    memory,
    scoring,
    server,
    user,
    versions,
)
from pytest_amlimage.checks.base_age import BASE_LABELS, Base
from pytest_amlimage.checks.check import Check, Later
from pytest_amlimage.config.catalog import CatalogEntry
from pytest_amlimage.config.instance_types import size_bytes
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint.inside import Inside
from pytest_amlimage.endpoint.samples import Sample
from pytest_amlimage.endpoint.scoring import Readiness
from pytest_amlimage.engine.container import AmlContainer, LaunchPlan
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.engine.memory import Memory
from pytest_amlimage.probe import Facts
from pytest_amlimage.probe.cuda import Resolution
from pytest_amlimage.probe.inimage.frame import FRAMEWORK_MODULES
from pytest_amlimage.probe.snapshot import write_lock

AZUREML_ENV = {
    "AZUREML_CONDA_ENVIRONMENT_PATH",
    "AZUREML_CONDA_DEFAULT_ENVIRONMENT",
}  # set by the prebuilt images
CUDA_IMAGE_ENV = ("CUDA_VERSION", "NV_CUDNN_VERSION", "CUDNN_VERSION", "NVIDIA_REQUIRE_CUDA")


class ImageUnderTest(Protocol):
    """What the run holds of one image: read at collection (reference, info, plan), or fetched by checks."""

    @property
    def reference(self) -> str: ...
    @property
    def info(self) -> ImageInfo: ...
    @property
    def build_error(self) -> str | None: ...
    @property
    def plan(self) -> LaunchPlan: ...
    @property
    def gpu(self) -> dict[str, Resolution]: ...
    @property
    def base(self) -> Base | None: ...
    @property
    def snapshot(self) -> dict[str, Any]: ...
    def facts(self) -> Facts: ...
    def container(self) -> AmlContainer: ...
    def serving(self, *, detailed: bool = False) -> AmlContainer: ...
    def serving_readiness(self) -> Readiness: ...
    def memory(self) -> Memory: ...
    @property
    def offline(self) -> Inside: ...
    def readiness(self) -> Readiness: ...


@dataclass(frozen=True)
class Context:
    """What the run knows beside the image: the Dockerfile it built it from, the samples, the curated row, the
    baseline image or lock it is compared against."""

    built_from: dockerfile.Dockerfile | None = None  # only for the image --aml-build built
    curated: CatalogEntry | None = None
    samples: tuple[Sample, ...] = ()
    baseline: ImageUnderTest | None = None
    lock: dict[str, Any] | None = None


def checks_for(image: ImageUnderTest, settings: Settings, context: Context) -> Iterator[Check]:
    """Every built-in check of ``image``: Dockerfile, user, versions, GPU, scoring, regression."""
    if settings.deployment_yaml is not None:  # static, like the Dockerfile's: before anything runs
        workers = settings.endpoint.workers(image.info.env)
        yield Check("deployment", deployment_yaml.deployment, (settings.deployment_yaml, workers))
    yield from _dockerfile_checks(image, settings, context)
    if image.build_error:
        return
    facts = Later(image.facts)
    yield Check("non-root", user.non_root, (image.info.user, facts))
    yield Check("app-permissions", user.app_permissions, (facts, image.plan.runit))
    yield Check(
        "image-config", image_config.image_config, (image.info, settings.endpoint.environment)
    )
    if (
        context.built_from
        or set(BASE_LABELS) & set(image.info.labels)
        or AZUREML_ENV & set(image.info.env)
    ):
        today, found = date.today(), partial(getattr, image, "base")
        properties = partial(base_age.base_properties, found, settings.max_base_age, today)
        yield Check(
            "base-age", base_age.base_age, (Later(found), settings.max_base_age, today), properties
        )
    yield from _version_checks(image, settings, context.curated)
    yield from _gpu_checks(image, settings, context.curated)
    yield from _scoring_checks(image, settings, context)
    yield from _regression_checks(image, settings, context)


def _dockerfile_checks(
    image: ImageUnderTest, settings: Settings, context: Context
) -> Iterator[Check]:
    """Static checks of the Dockerfile --aml-build built, before anything runs."""
    parsed = context.built_from
    if parsed is None:
        return
    yield Check("dockerfile[last-user]", dockerfile.last_user, (parsed,))
    # the witness, where the build worked
    built = None if image.build_error else Later(image.container)
    yield Check("dockerfile[entry-paths]", dockerfile.entry_paths, (parsed, built))
    yield Check("dockerfile[base-image]", dockerfile.base_image, (parsed, settings.any_base))
    if image.build_error:
        yield Check("build", dockerfile.build_failed, (image.build_error,))


def _version_checks(
    image: ImageUnderTest, settings: Settings, entry: CatalogEntry | None
) -> Iterator[Check]:
    """The curated row's expectations, overridden by the user's; the framework's apart."""
    facts = Later(image.facts)
    if settings.curated and entry is None:
        yield Check("curated", versions.undetected, (image.reference,))
    if entry is not None and entry.python:
        yield Check("python", versions.python, (entry.python, entry.source, facts))
    packages, framework = settings.expected_versions(entry)
    for expected in packages:
        yield Check(f"version[{expected.name}]", versions.version, (expected, facts))
    if framework is not None:
        module = FRAMEWORK_MODULES.get(framework.name, framework.name.replace("-", "_"))
        yield Check(f"framework[{framework.name}]", versions.framework, (framework, module, facts))
    yield Check("pip-check", versions.pip_check, (facts,))
    if settings.requirements is not None:
        path = settings.requirements
        lines = Later(lambda: path.read_text().splitlines())
        yield Check("requirements", versions.requirements, (lines, str(path), facts))


def _gpu_checks(
    image: ImageUnderTest, settings: Settings, entry: CatalogEntry | None
) -> Iterator[Check]:
    """CUDA/cuDNN checks: for expectations given, or for images that say they carry CUDA."""
    expected = {
        "cuda": settings.cuda or (entry.cuda_expectation("cuda") if entry else None),
        "cudnn": settings.cudnn or (entry.cuda_expectation("cudnn") if entry else None),
    }
    for library, expectation in expected.items():
        if expectation is not None:
            yield Check(
                library, gpu.check_version, (expectation, Later(partial(_resolved, image, library)))
            )
    claims_cuda = settings.endpoint.gpu or any(name in image.info.env for name in CUDA_IMAGE_ENV)
    if (
        claims_cuda
        or settings.gpu
        or any(e is not None and e.text != "none" for e in expected.values())
    ):
        yield Check(
            "cuda-consistency", gpu.check_consistent, (Later(lambda: list(image.gpu.values())),)
        )
        yield Check(
            "cuda-framework", gpu.check_framework_build, (Later(partial(_resolved, image, "cuda")),)
        )
    if settings.gpu:
        container = Later(image.container)
        yield Check("gpu-visible", gpu.check_gpu_visible, (container,))
        for module in gpu.FRAMEWORK_SEES_GPU:
            sees = (module, Later(image.facts), container)
            yield Check(f"gpu-framework[{module}]", gpu.check_framework_sees_gpu, sees)


def _resolved(image: ImageUnderTest, library: str) -> Resolution:
    return image.gpu[library]


def _scoring_checks(image: ImageUnderTest, settings: Settings, context: Context) -> Iterator[Check]:
    """The server as the endpoint holds it: probes, request timeout, load; then samples, errors, swagger."""
    plan, endpoint, samples = image.plan, settings.endpoint, list(context.samples)
    own_server = settings.command is not None or endpoint.custom_container
    # the start command's --entry_script
    own_script = plan.probe_environment.get("AZUREML_ENTRY_SCRIPT")
    if own_script or (plan.serves and not own_server):  # azmlinfsrv serves
        yield Check("server", server.server, (Later(image.facts),))
        if settings.entry_script or image.info.env.get("AZUREML_ENTRY_SCRIPT") or own_script:
            yield Check("entry-script", server.entry_script, (Later(image.facts),))
    serving, workers = Later(image.serving), endpoint.workers(image.info.env)
    yield Check(
        "liveness", scoring.liveness, (Later(partial(image.serving, detailed=True)), endpoint)
    )
    budget_properties = partial(scoring.probe_properties, image.readiness, endpoint)
    yield Check(
        "probe-budget",
        scoring.probe_budget,
        (Later(image.serving_readiness), endpoint),
        budget_properties,
    )
    for sample in samples:
        yield Check(f"score[{sample.name}]", scoring.score, (serving, sample, settings))
    if samples:
        measured: dict[str, Any] = {}
        yield Check(
            "liveness-under-load", scoring.liveness_under_load, (serving, samples[0], settings)
        )
        count = scoring.concurrency_level(endpoint, workers)
        properties = partial(scoring.concurrency_properties, measured)
        yield Check(
            "concurrency",
            scoring.concurrency,
            (serving, samples[0], settings, count, measured),
            properties,
        )
    yield Check("bad-request", scoring.bad_request, (serving, settings))
    yield Check("swagger", scoring.swagger, (serving, samples, settings))
    yield Check("stable", scoring.stable, (serving, workers))
    yield _memory_check(image, settings, workers)
    if settings.offline:
        yield Check("offline", scoring.offline, (Later(partial(getattr, image, "offline")),))


def _memory_check(image: ImageUnderTest, settings: Settings, workers: int) -> Check:
    """The peak against the instance type's memory (else the container's limit), after every phase ran."""
    measured: dict[str, Any] = {}
    instance, limit = settings.instance, size_bytes(image.plan.memory) or 0
    sized_by = instance.shown if instance else f"the container's memory limit, {image.plan.memory}"
    inputs = (Later(image.memory), limit, sized_by, instance, workers, measured)
    if instance is not None and settings.cpus is None and image.plan.cpus < instance.vcpus:
        measured["capped"] = (
            f"{instance.name}'s {instance.vcpus:g} vCPUs capped at the engine's {image.plan.cpus:g}"
        )
    return Check("memory", memory.memory, inputs, partial(memory.properties, measured))


def _side(image: ImageUnderTest) -> baseline.Side:
    return baseline.Side(image.reference, partial(getattr, image, "snapshot"), image.serving)


def _regression_checks(
    image: ImageUnderTest, settings: Settings, context: Context
) -> Iterator[Check]:
    """Against a baseline image or a lock file; or, with --aml-lock-update, writing the lock."""
    if settings.lock_update and settings.lock is not None:
        yield Check(
            "lock-update", write_lock, (settings.lock, Later(partial(getattr, image, "snapshot")))
        )
        return
    if context.baseline is None and context.lock is None:
        return
    old = _side(context.baseline) if context.baseline is not None else None
    comparison = baseline.Comparison(_side(image), old, context.lock, settings.lock)
    on_changes, on_snapshots, props = (
        baseline.on_changes,
        baseline.on_snapshots,
        comparison.properties,
    )
    yield Check(
        "baseline[removed]",
        on_changes,
        (baseline.no_removed, comparison, settings.allow_removed),
        props,
    )
    yield Check(
        "baseline[downgrades]",
        on_changes,
        (baseline.no_downgrade, comparison, settings.allow),
        props,
    )
    yield Check(
        "baseline[major]", on_changes, (baseline.no_major_bump, comparison, settings.allow), props
    )
    yield Check("baseline[user]", on_snapshots, (baseline.same_user, comparison))
    yield Check("baseline[cuda]", on_snapshots, (baseline.same_cuda_major, comparison))
    if context.baseline is None:
        return
    for sample in context.samples:
        yield Check(
            f"baseline[parity-{sample.name}]", baseline.parity, (comparison, sample, settings)
        )
    if context.samples:
        measured: dict[str, float] = {}
        properties = partial(baseline.latency_properties, image.reference, measured)
        latency = (comparison, context.samples[0], measured, settings)
        yield Check("baseline[latency]", baseline.latency, latency, properties)


def wanted_imports(settings: Settings, entry: CatalogEntry | None) -> list[str]:
    """The distributions the probe imports: every package and framework a version check is about."""
    packages, framework = settings.expected_versions(entry)
    return sorted({e.name for e in (*packages, *([framework] if framework else []))})
