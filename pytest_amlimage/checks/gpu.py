"""The GPU checks: CUDA and cuDNN versions from the resolved evidence, and the GPU seen from inside."""

from __future__ import annotations

from pytest_amlimage.config.expectations import Expectation, satisfies
from pytest_amlimage.engine.container import AmlContainer
from pytest_amlimage.errors import CheckFailed, NotApplicable
from pytest_amlimage.probe import Facts
from pytest_amlimage.probe.cuda import LIBRARIES, Resolution


def check_version(expected: Expectation, resolution: Resolution) -> None:
    label = LIBRARIES[resolution.library]
    if expected.text == "none":
        if resolution.version is not None:
            raise CheckFailed(
                f"expected no {label} runtime ({expected.source}), but found {resolution.version}:\n"
                f"{resolution.listing()}"
            )
        return
    if resolution.version is None:
        raise CheckFailed(
            f"no {label} found; {expected.shown} expected by {expected.source}:\n{resolution.listing()}"
        )
    if not satisfies(expected.specifier, resolution.version):
        raise CheckFailed(
            f"{label} {resolution.version} ({resolution.origin}) does not satisfy {expected.shown} "
            f"(expected by {expected.source}); evidence:\n{resolution.listing()}"
        )


def check_consistent(resolutions: list[Resolution]) -> None:
    found = [line for r in resolutions for line in r.contradictions]
    if found:
        raise CheckFailed(
            "\n".join(found) + "\nthe environment names versions the libraries do not have: "
            "fix the ENV lines (CUDA_VERSION, NV_CUDNN_VERSION, ...) or the base image"
        )


def check_framework_build(cuda: Resolution) -> None:
    """The framework was built for the CUDA major the image's runtime has."""
    runtime = [e for e in cuda.evidence if e.origin != "framework" and e.parts]
    for built in (e for e in cuda.evidence if e.origin == "framework" and e.parts):
        majors = sorted({e.parts[0] for e in runtime})
        if majors and built.parts[0] not in majors:
            raise CheckFailed(
                f"{built.source} is for CUDA {built.version}, but the image's CUDA runtime is "
                f"{', '.join(map(str, majors))}.x:\n{cuda.listing()}\ninstall the framework build for the image's CUDA"
            )


FRAMEWORK_SEES_GPU = {
    "torch": "import torch; print(torch.cuda.is_available())",
    "tensorflow": "import tensorflow as tf; print(bool(tf.config.list_physical_devices('GPU')))",
}


def check_gpu_visible(container: AmlContainer) -> None:
    """``nvidia-smi -L`` in the container lists a GPU."""
    exec_result = container.exec(["nvidia-smi", "-L"])
    if exec_result.exit_code != 0 or "GPU " not in exec_result.output:
        raise CheckFailed(
            f"nvidia-smi -L in the container did not list a GPU (exit {exec_result.exit_code}): "
            f"{(exec_result.output + exec_result.stderr).strip()[:500]}"
        )


def check_framework_sees_gpu(module: str, facts: Facts, container: AmlContainer) -> None:
    """``module`` (torch, tensorflow), where installed, sees the GPU from inside the container."""
    if module not in facts.frameworks:
        raise NotApplicable(f"{module} is not installed in the image")
    exec_result = container.exec(["python", "-c", FRAMEWORK_SEES_GPU[module]])
    if exec_result.output.strip().splitlines()[-1:] != ["True"]:
        raise CheckFailed(
            f"{module} does not see the GPU: {(exec_result.output + exec_result.stderr).strip()[-800:]}\n"
            "check that the framework build matches the image's CUDA (see cuda-framework)"
        )
