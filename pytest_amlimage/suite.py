"""Which built-in checks apply to an image, in the order they run."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest

from . import build, catalog, checks, cuda, dockerfile, scoring_checks
from .checks import Check
from .errors import CheckFailed
from .expectations import Expectation, merge
from .regression import regression_checks
from .session import ImageRun

FRAMEWORK_MODULES = {
    "torch": "torch",
    "tensorflow": "tensorflow",
    "scikit-learn": "sklearn",
    "onnxruntime": "onnxruntime",
    "xgboost": "xgboost",
}
CUDA_IMAGE_ENV = ("CUDA_VERSION", "NV_CUDNN_VERSION", "CUDNN_VERSION", "NVIDIA_REQUIRE_CUDA")


def _undetected(image: ImageRun) -> None:
    raise CheckFailed(
        f"--aml-curated auto: cannot tell which curated image {image.reference} was built from "
        "(no org.opencontainers.image.base.name label, and no local catalog image is its base); "
        "name it: --aml-curated NAME (see pytest --aml-list-curated)"
    )


def curated_entry(image: ImageRun) -> catalog.CatalogEntry | None:
    name = image.session.settings.curated
    if name is None:
        return None
    if name.lower() != "auto":
        return catalog.find(name)
    return image.session.detect_curated(image)


def _expectations(image: ImageRun, entry: catalog.CatalogEntry | None) -> tuple[list[Expectation], Expectation | None]:
    """Package expectations (the curated row's, overridden by the user's) and the framework's."""
    settings = image.session.settings
    framework = settings.framework or (entry.framework_expectation() if entry else None)
    merged = merge(entry.expectations() if entry else [], list(settings.expectations))
    return [e for e in merged if framework is None or e.name != framework.name], framework


def _version(image: ImageRun, expected: Expectation) -> None:
    checks.version(expected, image.facts())


def _framework(image: ImageRun, expected: Expectation) -> None:
    module = FRAMEWORK_MODULES.get(expected.name, expected.name.replace("-", "_"))
    checks.framework(expected, module, image.facts())


def _requirements(image: ImageRun) -> None:
    path = image.session.settings.requirements
    assert path is not None
    checks.requirements(path.read_text().splitlines(), str(path), image.facts())


def _cuda_version(image: ImageRun, library: str, expected: Expectation) -> None:
    cuda.check_version(expected, image.gpu[library])


def _cuda_consistency(image: ImageRun) -> None:
    cuda.check_consistent(list(image.gpu.values()))


def _gpu_visible(image: ImageRun) -> None:
    cuda.check_gpu_visible(image.container().exec(["nvidia-smi", "-L"]))


def _framework_sees_gpu(image: ImageRun, module: str) -> None:
    if module not in image.facts().frameworks:
        raise pytest.skip.Exception(f"{module} is not installed in the image", _use_item_location=True)
    code = cuda.FRAMEWORK_SEES_GPU[module]
    cuda.check_framework_sees_gpu(module, image.container().exec(["python", "-c", code]))


def gpu_checks(image: ImageRun, entry: catalog.CatalogEntry | None) -> Iterator[Check]:
    """CUDA/cuDNN checks: for expectations given, or for images that say they carry CUDA."""
    settings = image.session.settings
    expected = {
        "cuda": settings.cuda or (entry.cuda_expectation("cuda") if entry else None),
        "cudnn": settings.cudnn or (entry.cuda_expectation("cudnn") if entry else None),
    }
    for library, expectation in expected.items():
        if expectation is not None:
            yield Check(library, partial(_cuda_version, image, library, expectation))
    claims_cuda = any(name in image.image_env for name in CUDA_IMAGE_ENV)
    if claims_cuda or settings.gpu or any(e is not None and e.text != "none" for e in expected.values()):
        yield Check("cuda-consistency", partial(_cuda_consistency, image))
        yield Check("cuda-framework", lambda: cuda.check_framework_build(image.facts().raw))
    if settings.gpu:
        yield Check("gpu-visible", partial(_gpu_visible, image))
        for module in cuda.FRAMEWORK_SEES_GPU:
            yield Check(f"gpu-framework[{module}]", partial(_framework_sees_gpu, image, module))


def _build_failed(image: ImageRun) -> None:
    raise CheckFailed(str(image.build_error))


def dockerfile_checks(image: ImageRun) -> Iterator[Check]:
    """Static checks of the Dockerfile --aml-build built, before anything runs."""
    settings = image.session.settings
    if settings.build is None or image is not image.session.built:
        return
    path, context = build.locate(settings.build)
    parsed = dockerfile.parse(path, context, dict(settings.build_args))
    yield Check("dockerfile[last-user]", partial(dockerfile.last_user, parsed))
    yield Check("dockerfile[entry-paths]", partial(dockerfile.entry_paths, parsed))
    yield Check("dockerfile[base-image]", partial(dockerfile.base_image, parsed, settings.any_base))
    if image.build_error:
        yield Check("build", partial(_build_failed, image))


def builtin_checks(image: ImageRun) -> Iterator[Check]:
    yield from dockerfile_checks(image)
    if image.build_error:
        return
    entry = curated_entry(image)
    expectations, framework = _expectations(image, entry)
    yield Check("non-root", lambda: checks.non_root(image.config_user, image.facts()))
    yield Check("app-permissions", lambda: checks.app_permissions(image.facts()))
    if image.session.settings.curated and entry is None:
        yield Check("curated", partial(_undetected, image))
    for expected in expectations:
        yield Check(f"version[{expected.name}]", partial(_version, image, expected))
    if framework is not None:
        yield Check(f"framework[{framework.name}]", partial(_framework, image, framework))
    yield Check("pip-check", lambda: checks.pip_check(image.facts()))
    if image.session.settings.requirements is not None:
        yield Check("requirements", partial(_requirements, image))
    yield from gpu_checks(image, entry)
    yield from scoring_checks.builtin_checks(image)
    yield from regression_checks(image)
