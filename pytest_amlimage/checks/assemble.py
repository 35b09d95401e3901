"""Which built-in checks apply to an image, in the order they run: the one place checks are assembled.

One generator per family, each given the settings; every check is bound the same way,
``Check(id, partial(body, ...))``. The bodies live with their family: ``checks``, ``image_config``,
``base_age``, ``cuda``, ``dockerfile``, ``server_checks``, ``scoring_checks``, ``regression``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from pytest_amlimage.checks import base_age, compare, dockerfile, image_config, regression
from pytest_amlimage.checks import scoring as scoring_checks
from pytest_amlimage.checks import server as server_checks
from pytest_amlimage.checks import versions as checks
from pytest_amlimage.checks.base_age import BASE_LABELS
from pytest_amlimage.checks.versions import Check
from pytest_amlimage.config import catalog
from pytest_amlimage.config.expectations import Expectation, merge
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import cuda
from pytest_amlimage.probe.inimage.frame import FRAMEWORK_MODULES
from pytest_amlimage.run import origin
from pytest_amlimage.run.session import ImageRun

AZUREML_ENV = {"AZUREML_CONDA_ENVIRONMENT_PATH", "AZUREML_CONDA_DEFAULT_ENVIRONMENT"}  # set by the prebuilt images
CUDA_IMAGE_ENV = ("CUDA_VERSION", "NV_CUDNN_VERSION", "CUDNN_VERSION", "NVIDIA_REQUIRE_CUDA")


def checks_for(image: ImageRun, settings: Settings) -> Iterator[Check]:
    """Every built-in check of ``image``: Dockerfile, user, versions, GPU, scoring, regression."""
    yield from _dockerfile_checks(image, settings)
    if image.build_error:
        return
    entry = _curated_entry(image, settings)
    yield Check("non-root", partial(_non_root, image))
    yield Check("app-permissions", partial(_app_permissions, image))
    yield Check("image-config", partial(image_config.image_config, image.info, settings.endpoint.environment))
    if image is image.session.built or set(BASE_LABELS) & set(image.info.labels) or AZUREML_ENV & set(image.info.env):
        yield Check("base-age", partial(_base_age, image, settings), partial(_base_properties, image, settings))
    yield from _version_checks(image, settings, entry)
    yield from _gpu_checks(image, settings, entry)
    yield from _scoring_checks(image, settings)
    yield from _regression_checks(image, settings)


def _curated_entry(image: ImageRun, settings: Settings) -> catalog.CatalogEntry | None:
    if settings.curated is None:
        return None
    if settings.curated.lower() != "auto":
        return catalog.find(settings.curated)
    return origin.curated_row(image.session, image)


def _dockerfile_checks(image: ImageRun, settings: Settings) -> Iterator[Check]:
    """Static checks of the Dockerfile --aml-build built, before anything runs."""
    parsed = image.session.dockerfile
    if parsed is None or image is not image.session.built:
        return
    yield Check("dockerfile[last-user]", partial(dockerfile.last_user, parsed))
    yield Check("dockerfile[entry-paths]", partial(dockerfile.entry_paths, parsed))
    yield Check("dockerfile[base-image]", partial(dockerfile.base_image, parsed, settings.any_base))
    if image.build_error:
        yield Check("build", partial(_build_failed, image.build_error))


def _version_checks(image: ImageRun, settings: Settings, entry: catalog.CatalogEntry | None) -> Iterator[Check]:
    """The curated row's expectations, overridden by the user's; the framework's apart."""
    if settings.curated and entry is None:
        yield Check("curated", partial(_undetected, image.reference))
    if entry is not None and entry.python:
        yield Check("python", partial(_python, image, entry))
    framework = settings.framework or (entry.framework_expectation() if entry else None)
    merged = merge(entry.expectations() if entry else [], list(settings.expectations))
    image.wanted_imports.update(e.name for e in (*merged, *([framework] if framework else [])))
    for expected in (e for e in merged if framework is None or e.name != framework.name):
        yield Check(f"version[{expected.name}]", partial(_version, image, expected))
    if framework is not None:
        yield Check(f"framework[{framework.name}]", partial(_framework, image, framework))
    yield Check("pip-check", partial(_pip_check, image))
    if settings.requirements is not None:
        yield Check("requirements", partial(_requirements, image, settings.requirements))


def _gpu_checks(image: ImageRun, settings: Settings, entry: catalog.CatalogEntry | None) -> Iterator[Check]:
    """CUDA/cuDNN checks: for expectations given, or for images that say they carry CUDA."""
    expected = {
        "cuda": settings.cuda or (entry.cuda_expectation("cuda") if entry else None),
        "cudnn": settings.cudnn or (entry.cuda_expectation("cudnn") if entry else None),
    }
    for library, expectation in expected.items():
        if expectation is not None:
            yield Check(library, partial(_cuda_version, image, library, expectation))
    claims_cuda = settings.endpoint.gpu or any(name in image.info.env for name in CUDA_IMAGE_ENV)
    if claims_cuda or settings.gpu or any(e is not None and e.text != "none" for e in expected.values()):
        yield Check("cuda-consistency", partial(_cuda_consistency, image))
        yield Check("cuda-framework", partial(_cuda_framework, image))
    if settings.gpu:
        yield Check("gpu-visible", partial(_gpu_visible, image))
        for module in cuda.FRAMEWORK_SEES_GPU:
            yield Check(f"gpu-framework[{module}]", partial(_framework_sees_gpu, image, module))


def _scoring_checks(image: ImageRun, settings: Settings) -> Iterator[Check]:
    """The server as the endpoint holds it: probes, request timeout, load; then samples, errors, swagger."""
    samples, serve = image.session.samples, scoring_checks
    plan = image.plan
    own_server = settings.command is not None or settings.endpoint.custom_container
    own_script = plan.probe_environment.get("AZUREML_ENTRY_SCRIPT")  # the start command's --entry_script
    if own_script or (plan.serves and not own_server):  # azmlinfsrv serves
        yield Check("server", partial(_server, image))
        if settings.entry_script or image.info.env.get("AZUREML_ENTRY_SCRIPT") or own_script:
            yield Check("entry-script", partial(_entry_script, image))
    yield Check("liveness", partial(serve.liveness, image, settings))
    yield Check(
        "probe-budget", partial(serve.probe_budget, image, settings), partial(serve.probe_properties, image, settings)
    )
    for sample in samples:
        yield Check(f"score[{sample.name}]", partial(serve.score, image, sample, settings))
    if samples:
        measured: dict[str, Any] = {}
        yield Check("liveness-under-load", partial(serve.liveness_under_load, image, samples[0], settings))
        concurrency = partial(serve.concurrency, image, samples[0], settings, measured)
        yield Check("concurrency", concurrency, partial(serve.concurrency_properties, measured))
    yield Check("bad-request", partial(serve.bad_request, image, settings))
    yield Check("swagger", partial(serve.swagger, image, samples, settings))
    yield Check("stable", partial(serve.stable, image, settings))


def _regression_checks(image: ImageRun, settings: Settings) -> Iterator[Check]:
    """Against a baseline image or a lock file; or, with --aml-lock-update, writing the lock."""
    session = image.session
    if settings.lock_update and settings.lock is not None:
        yield Check("lock-update", partial(regression.write_lock, image, settings.lock))
        return
    if session.baseline is None and session.lock is None:
        return
    comparison = regression.Comparison(image, session.baseline, session.lock, settings.lock)
    on_changes, on_snapshots, props = regression.on_changes, regression.on_snapshots, comparison.properties
    yield Check("baseline[removed]", partial(on_changes, compare.no_removed, comparison, settings.allow_removed), props)
    yield Check("baseline[downgrades]", partial(on_changes, compare.no_downgrade, comparison, settings.allow), props)
    yield Check("baseline[major]", partial(on_changes, compare.no_major_bump, comparison, settings.allow), props)
    yield Check("baseline[user]", partial(on_snapshots, compare.same_user, comparison))
    yield Check("baseline[cuda]", partial(on_snapshots, compare.same_cuda_major, comparison))
    if session.baseline is None:
        return
    for sample in session.samples:
        yield Check(f"baseline[parity-{sample.name}]", partial(regression.parity, comparison, sample, settings))
    if session.samples:
        measured: dict[str, float] = {}
        latency = partial(regression.latency, comparison, session.samples[0], measured, settings)
        yield Check("baseline[latency]", latency, partial(regression.latency_properties, image, measured))


def _build_failed(error: str) -> None:
    raise CheckFailed(error)


def _undetected(reference: str) -> None:
    raise CheckFailed(
        f"--aml-curated auto: cannot tell which curated image {reference} was built from "
        "(no org.opencontainers.image.base.name label, no /IMAGE_INFORMATION naming one, and no local "
        "catalog image is its base); "
        "name it: --aml-curated NAME (see pytest --aml-list-curated)"
    )


def _base_age(image: ImageRun, settings: Settings) -> None:
    base_age.base_age(image.base, settings.max_base_age, date.today())


def _base_properties(image: ImageRun, settings: Settings) -> list[tuple[str, object]]:
    base = image.base
    if base is None or base.dated is None:
        return []
    found = {
        "reference": base.reference,
        "date": base.dated.isoformat(),
        "age_days": (date.today() - base.dated).days,
        "limit_days": settings.max_base_age,
    }
    return [("amlimage_endpoint", {"base": found})]


def _non_root(image: ImageRun) -> None:
    checks.non_root(image.info.user, image.facts())


def _app_permissions(image: ImageRun) -> None:
    checks.app_permissions(image.facts(), runit=image.plan.runit)


def _python(image: ImageRun, entry: catalog.CatalogEntry) -> None:
    assert entry.python is not None
    checks.python(entry.python, entry.source, image.facts())


def _version(image: ImageRun, expected: Expectation) -> None:
    checks.version(expected, image.facts())


def _framework(image: ImageRun, expected: Expectation) -> None:
    module = FRAMEWORK_MODULES.get(expected.name, expected.name.replace("-", "_"))
    checks.framework(expected, module, image.facts())


def _pip_check(image: ImageRun) -> None:
    checks.pip_check(image.facts())


def _requirements(image: ImageRun, path: Path) -> None:
    checks.requirements(path.read_text().splitlines(), str(path), image.facts())


def _server(image: ImageRun) -> None:
    server_checks.server(image.facts())


def _entry_script(image: ImageRun) -> None:
    server_checks.entry_script(image.facts())


def _cuda_version(image: ImageRun, library: str, expected: Expectation) -> None:
    cuda.check_version(expected, image.gpu[library])


def _cuda_consistency(image: ImageRun) -> None:
    cuda.check_consistent(list(image.gpu.values()))


def _cuda_framework(image: ImageRun) -> None:
    cuda.check_framework_build(image.gpu["cuda"])


def _gpu_visible(image: ImageRun) -> None:
    cuda.check_gpu_visible(image.container().exec(["nvidia-smi", "-L"]))


def _framework_sees_gpu(image: ImageRun, module: str) -> None:
    if module not in image.facts().frameworks:
        raise pytest.skip.Exception(f"{module} is not installed in the image", _use_item_location=True)
    cuda.check_framework_sees_gpu(module, image.container().exec(["python", "-c", cuda.FRAMEWORK_SEES_GPU[module]]))
