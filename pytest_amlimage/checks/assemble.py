"""Which built-in checks apply to an image, in the order they run: the one place checks are assembled.

One generator per family, each given the settings. Every check is bound the same way,
``Check(id, run)``: ``run`` a closure calling its body, a function of its family's module (``dockerfile``,
``user``, ``image_config``, ``platform_rules``, ``secrets``, ``base_age``, ``versions``, ``gpu``, ``server``,
``scoring``, ``memory``, ``mlflow_model``, ``baseline``), with every argument in sight of mypy. What exists
only once the container runs (facts, the serving container) is fetched inside the closure, when the check
runs. No check reaches for the run itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from pytest_amlimage.checks import (
    base_age,
    baseline,
    batch,
    capacity,
    deployment_yaml,
    dockerfile,
    gpu,
    image_config,
    memory,
    mlflow_model,
    platform_rules,
    scoring,
    secrets,
    server,
    user,
    versions,
)
from pytest_amlimage.checks.check import Check, MemoryFigures
from pytest_amlimage.checks.image_under_test import ImageUnderTest
from pytest_amlimage.config.catalog import CatalogEntry
from pytest_amlimage.config.expectations import Expectation
from pytest_amlimage.config.instance_types import shown_size
from pytest_amlimage.config.mlflow import MlflowModel
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint.batch import BatchReport
from pytest_amlimage.endpoint.samples import Sample, Tolerance
from pytest_amlimage.endpoint.scoring import Sending
from pytest_amlimage.engine.container import AmlContainer
from pytest_amlimage.engine.dockerfile import Dockerfile
from pytest_amlimage.engine.origin import BASE_LABELS
from pytest_amlimage.errors import NotApplicable
from pytest_amlimage.probe import Facts, sbom
from pytest_amlimage.probe.inimage.frame import FRAMEWORK_MODULES
from pytest_amlimage.probe.snapshot import write_lock

AZUREML_ENV = {
    "AZUREML_CONDA_ENVIRONMENT_PATH",
    "AZUREML_CONDA_DEFAULT_ENVIRONMENT",
}  # set by the prebuilt images
CUDA_IMAGE_ENV = ("CUDA_VERSION", "NV_CUDNN_VERSION", "CUDNN_VERSION", "NVIDIA_REQUIRE_CUDA")


@dataclass(frozen=True)
class Context:
    """What the run knows beside the image: the Dockerfile it built it from, the samples, the curated row, the
    baseline image or lock it is compared against."""

    built_from: Dockerfile | None = None  # only for the image --aml-build built
    curated: CatalogEntry | None = None
    samples: tuple[Sample, ...] = ()
    baseline: ImageUnderTest | None = None
    lock: dict[str, Any] | None = None
    mlflow: MlflowModel | None = None  # the model of a no-code deployment
    # the MLflow image's own scoring script, as the image holds it
    serving_script: str | None = None


def checks_for(image: ImageUnderTest, settings: Settings, context: Context) -> Iterator[Check]:
    """Every built-in check of ``image``: Dockerfile, user, versions, GPU, scoring, regression."""
    if settings.deployment_yaml is not None:  # static, like the Dockerfile's: before anything runs
        found, workers = settings.deployment_yaml, settings.endpoint.workers(image.info.env)
        yield Check("deployment", lambda: deployment_yaml.deployment(found, workers))
    if context.mlflow is not None:
        model = context.mlflow
        # the curated image's script imports monitoring; a batch job runs the platform's generated driver
        monitoring = settings.batch is None and mlflow_model.imports_monitoring(
            context.serving_script
        )
        yield Check("mlflow-model", lambda: mlflow_model.mlflow_model(model, monitoring))
    yield from _dockerfile_checks(image, settings, context)
    if image.build_error:
        if context.built_from is None:  # the model's environment, made on the image, failed
            error = image.build_error
            yield Check("build", lambda: dockerfile.build_failed(error))
        return
    info, env = image.info, settings.endpoint.environment
    yield Check("non-root", lambda: user.non_root(info.user, image.facts()))
    yield Check(
        "app-permissions",
        lambda: user.app_permissions(
            image.facts(), image.plan.runit, user.ownership_seen(image.container())
        ),
    )
    yield Check("image-config", lambda: image_config.image_config(info, env))
    yield Check(
        "platform",
        lambda: platform_rules.platform(
            image.facts(), image_env=info.env, deployment_env=env, batch=settings.batch is not None
        ),
    )
    built_from = context.built_from
    yield Check(
        "secrets",
        lambda: secrets.secrets(info.env, image.history, image.facts().credentials, built_from),
    )
    if context.built_from or set(BASE_LABELS) & set(info.labels) or AZUREML_ENV & set(info.env):
        limit, today = settings.max_base_age, date.today()
        yield Check("base-age", lambda: base_age.base_age(image.base, limit, today))
    yield from _version_checks(image, settings, context.curated)
    yield from _gpu_checks(image, settings, context.curated)
    if settings.batch is not None:  # a batch job: the driver runs the script, nothing serves
        yield from _batch_checks(image, settings)
    else:
        yield from _scoring_checks(image, settings, context)
    yield from _regression_checks(image, settings, context)


def _dockerfile_checks(
    image: ImageUnderTest, settings: Settings, context: Context
) -> Iterator[Check]:
    """Static checks of the Dockerfile --aml-build built, before anything runs; the built image is the
    witness for its entry paths, where the build worked."""
    parsed, error = context.built_from, image.build_error
    if parsed is None:
        return
    yield Check("dockerfile[last-user]", lambda: dockerfile.last_user(parsed))
    yield Check("dockerfile[secrets]", lambda: secrets.in_dockerfile(parsed))
    built = (lambda: None) if error else image.container
    yield Check("dockerfile[entry-paths]", lambda: dockerfile.entry_paths(parsed, built()))
    any_base = settings.any_base
    yield Check("dockerfile[base-image]", lambda: dockerfile.base_image(parsed, any_base))
    if error:
        yield Check("build", lambda: dockerfile.build_failed(error))


def _version_checks(
    image: ImageUnderTest, settings: Settings, entry: CatalogEntry | None
) -> Iterator[Check]:
    """The curated row's expectations, overridden by the user's; the framework's apart."""
    facts = image.facts
    if settings.curated and entry is None:
        yield Check("curated", lambda: versions.undetected(image.reference))
    if entry is not None and entry.python:
        python, source = entry.python, entry.source
        yield Check("python", lambda: versions.python(facts(), expected=python, source=source))
    packages, framework = settings.expected_versions(entry)
    for expected in packages:
        yield Check(f"version[{expected.name}]", _version(expected, facts))
    if framework is not None:
        module = FRAMEWORK_MODULES.get(framework.name, framework.name.replace("-", "_"))
        yield Check(
            f"framework[{framework.name}]", lambda: versions.framework(framework, module, facts())
        )
    yield Check("pip-check", lambda: versions.pip_check(facts()))
    if settings.requirements is not None:
        path = settings.requirements
        yield Check(
            "requirements",
            lambda: versions.requirements(path.read_text().splitlines(), str(path), facts()),
        )


def _version(expected: Expectation, facts: Callable[[], Facts]) -> Callable[[], None]:
    return lambda: versions.version(expected, facts())


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
            yield Check(library, _library_version(image, library, expectation))
    claims_cuda = settings.gpu_instance or any(name in image.info.env for name in CUDA_IMAGE_ENV)
    expects = any(e is not None and e.text != "none" for e in expected.values())
    if claims_cuda or settings.gpu or expects:
        yield Check("cuda-consistency", lambda: gpu.check_consistent(list(image.gpu.values())))
        yield Check("cuda-framework", lambda: gpu.check_framework_build(image.gpu["cuda"]))
    if settings.gpu:
        yield Check("gpu-visible", lambda: gpu.check_gpu_visible(image.container()))
        for module in gpu.FRAMEWORK_SEES_GPU:
            yield Check(f"gpu-framework[{module}]", _framework_sees_gpu(image, module))


def _library_version(
    image: ImageUnderTest, library: str, expectation: Expectation
) -> Callable[[], None]:
    return lambda: gpu.check_version(expectation, image.gpu[library])


def _framework_sees_gpu(image: ImageUnderTest, module: str) -> Callable[[], None]:
    return lambda: gpu.check_framework_sees_gpu(module, image.facts(), image.container())


def _scoring_checks(image: ImageUnderTest, settings: Settings, context: Context) -> Iterator[Check]:
    """The server as the endpoint holds it: probes, request timeout, load; then samples, errors, swagger."""
    plan, endpoint, samples = image.plan, settings.endpoint, usable(context.samples)
    serves_itself = context.curated is not None and context.curated.serves_itself
    own_server = settings.command is not None or endpoint.custom_container or serves_itself
    # the start command's --entry_script
    own_script = plan.probe_environment.get("AZUREML_ENTRY_SCRIPT")
    if own_script or (plan.serves and not own_server):  # azmlinfsrv serves
        yield Check("server", lambda: server.server(image.facts()))
        if settings.entry_script or image.info.env.get("AZUREML_ENTRY_SCRIPT") or own_script:
            yield Check("entry-script", lambda: server.entry_script(image.facts()))
    serving, workers, sending = image.serving, endpoint.workers(image.info.env), _sending(settings)
    yield Check("liveness", lambda: scoring.liveness(image.serving(detailed=True), endpoint))
    if endpoint.readiness_route != endpoint.liveness_route:
        yield Check("readiness", lambda: scoring.readiness(serving(), endpoint))
    yield Check("probe-budget", lambda: scoring.probe_budget(image.serving_readiness(), endpoint))
    for sample in context.samples:
        yield Check(f"score[{sample.name}]", _score(serving, sample, settings))
    if samples:
        first, count = samples[0], scoring.concurrency_level(endpoint, workers)
        yield Check(
            "liveness-under-load",
            lambda: scoring.liveness_under_load(serving(), first, sending),
        )
        yield Check("concurrency", lambda: scoring.concurrency(serving(), first, sending, count))
    yield Check("bad-request", lambda: scoring.bad_request(serving(), sending))
    yield Check("swagger", lambda: scoring.swagger(serving(), samples, sending))
    yield Check("stable", lambda: scoring.stable(serving(), workers))
    yield _memory_check(image, settings, workers)
    if settings.offline:
        yield Check("offline", lambda: scoring.offline(image.offline))
    if settings.capacity:
        bound, deployed = capacity.Bound(*settings.latency_bound), _deployed(image, settings)
        target = settings.target_rps
        yield Check(
            "capacity",
            lambda: capacity.capacity(image.reference, image.capacity, bound, target, deployed),
        )


def _batch_checks(image: ImageUnderTest, settings: Settings) -> Iterator[Check]:
    """The batch job, run once by our driver: environment, init(), run(), output; its memory peak."""

    def report() -> BatchReport:  # run on first use, by whichever check comes first
        return image.batch

    own = settings.mlflow_model is None  # an MLflow model's environment is the platform's
    yield Check("batch-env", lambda: batch.batch_env(report(), own_environment=own))
    yield Check("batch-init", lambda: batch.batch_init(report()))
    yield Check("batch-run", lambda: batch.batch_run(report()))
    yield Check("batch-output", lambda: batch.batch_output(report()))
    assert settings.batch is not None
    workers, instance, limit = (
        settings.batch.max_concurrency_per_instance,
        settings.instance,
        image.plan.memory,
    )
    sized_by = _sized_by(settings, limit)

    def judged() -> MemoryFigures:
        if report().error:
            raise NotApplicable("the batch job never ran, so no peak was measured: see batch-env")
        return memory.memory(
            image.batch_memory(),
            limit=limit,
            sized_by=sized_by,
            instance=instance,
            workers=workers,
            capped="",
            fewer="max_concurrency_per_instance",
        )

    yield Check("memory", judged)


def _score(
    serving: Callable[[], AmlContainer], sample: Sample, settings: Settings
) -> Callable[[], None]:
    if sample.unusable:
        why = sample.unusable
        return lambda: scoring.not_sent(why)
    sending, tolerance, mlflow = (
        _sending(settings),
        _tolerance(settings),
        bool(settings.mlflow_model),
    )
    return lambda: scoring.score(serving(), sample, sending, tolerance, mlflow=mlflow)


def _sending(settings: Settings) -> Sending:
    return Sending(settings.endpoint, settings.score_timeout)


def _tolerance(settings: Settings) -> Tolerance:
    return Tolerance(settings.rtol, settings.atol)


def usable(samples: tuple[Sample, ...]) -> list[Sample]:
    """The samples that can be sent: the load, swagger and parity checks use these."""
    return [sample for sample in samples if sample.unusable is None]


def _memory_check(image: ImageUnderTest, settings: Settings, workers: int) -> Check:
    """The peak against the instance type's memory (else the container's limit), after every phase ran."""
    instance, limit, allowed = settings.instance, image.plan.memory, settings.allowed_types
    sized_by = _sized_by(settings, limit)
    capped = ""
    if instance is not None and settings.cpus is None and image.plan.cpus < instance.vcpus:
        capped = (
            f"{instance.name}'s {instance.vcpus:g} vCPUs capped at the engine's {image.plan.cpus:g}"
        )

    def judged() -> MemoryFigures:
        never_served = image.readiness().error  # also when there is nothing to serve
        found = image.memory()
        return memory.memory(
            found,
            limit=limit,
            sized_by=sized_by,
            instance=instance,
            workers=workers,
            capped=capped,
            never_served=never_served,
            allowed=allowed,
        )

    return Check("memory", judged)


def _sized_by(settings: Settings, limit: int) -> str:
    """What the memory is judged against: the instance type, else the container's limit."""
    instance = settings.instance
    return instance.shown if instance else f"the container's memory limit, {shown_size(limit)}"


def _side(image: ImageUnderTest) -> baseline.Side:
    return baseline.Side(image.reference, lambda: image.snapshot, image.serving)


def _regression_checks(
    image: ImageUnderTest, settings: Settings, context: Context
) -> Iterator[Check]:
    """Against a baseline image or a lock file; or, with --aml-lock-update, writing the lock. The bill of
    materials first, when asked for."""
    if settings.sbom is not None:
        path = sbom.path_for(settings.sbom, image.reference, len(settings.images) > 1)
        yield Check(
            "sbom", lambda: sbom.write_sbom(path, image.reference, image.info, image.facts())
        )
    if settings.lock_update and settings.lock is not None:
        lock = settings.lock
        yield Check("lock-update", lambda: write_lock(lock, image.snapshot))
        return
    if context.baseline is None and context.lock is None:
        return
    old = _side(context.baseline) if context.baseline is not None else None
    comparison = baseline.Comparison(_side(image), old, context.lock, settings.lock)
    removed, allowed = settings.allow_removed, settings.allow
    yield Check(
        "baseline[removed]",
        lambda: baseline.on_changes(baseline.no_removed, comparison, removed),
    )
    yield Check(
        "baseline[downgrades]",
        lambda: baseline.on_changes(baseline.no_downgrade, comparison, allowed),
    )
    yield Check(
        "baseline[major]", lambda: baseline.on_changes(baseline.no_major_bump, comparison, allowed)
    )
    yield Check("baseline[user]", lambda: baseline.on_snapshots(baseline.same_user, comparison))
    yield Check(
        "baseline[cuda]", lambda: baseline.on_snapshots(baseline.same_cuda_major, comparison)
    )
    if context.baseline is None or settings.batch is not None:  # parity needs a server
        return
    sendable = usable(context.samples)
    for sample in sendable:
        yield Check(f"baseline[parity-{sample.name}]", _parity(comparison, sample, settings))
    if sendable:
        first = sendable[0]
        sending, limit = _sending(settings), settings.max_slowdown
        yield Check(
            "baseline[latency]", lambda: baseline.latency(comparison, first, sending, limit=limit)
        )
    if settings.capacity:
        theirs, against = context.baseline, comparison.against
        yield Check(
            "baseline[throughput]",
            lambda: baseline.throughput(
                image.capacity, theirs.capacity, against=against, limit=settings.max_slowdown
            ),
        )


def _deployed(image: ImageUnderTest, settings: Settings) -> capacity.Deployed | None:
    """What the deployment YAML sets that bears on capacity (its defaults the platform's); None without one."""
    endpoint, yaml = settings.endpoint, settings.deployment_yaml
    if yaml is None:
        return None
    keys = ("request_settings", "max_concurrent_requests_per_instance")
    where = "the platform's default"
    requests = yaml.data.get(keys[0])
    if isinstance(requests, dict) and keys[1] in requests:
        where = f"{yaml.path.name}:{yaml.line(*keys)}"
    count = yaml.data.get("instance_count", 1)
    return capacity.Deployed(
        settings.instance.name if settings.instance is not None else None,
        endpoint.workers(image.info.env),
        endpoint.max_concurrent_requests,
        count if isinstance(count, int) and count > 0 else 1,
        where,
    )


def _parity(
    comparison: baseline.Comparison, sample: Sample, settings: Settings
) -> Callable[[], None]:
    sending, tolerance = _sending(settings), _tolerance(settings)
    return lambda: baseline.parity(comparison, sample, sending, tolerance)


def wanted_imports(settings: Settings, entry: CatalogEntry | None) -> list[str]:
    """The distributions the probe imports: every package and framework a version check is about."""
    packages, framework = settings.expected_versions(entry)
    return sorted({e.name for e in (*packages, *([framework] if framework else []))})
