"""CUDA and cuDNN detection on images built from NVIDIA's real runtime wheels."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import expect, green

pytestmark = pytest.mark.engine

VERSIONS_TEST = """
from pytest_amlimage.probe import cuda

def test_detected_versions_are_the_wheels(aml_environment):
    cudart = aml_environment.version_of("nvidia-cuda-runtime-cu12")
    cudnn = aml_environment.version_of("nvidia-cudnn-cu12")
    assert cudart and cudnn
    found_cuda = cuda.resolve(aml_environment.gpu_evidence, "cuda")
    found_cudnn = cuda.resolve(aml_environment.gpu_evidence, "cudnn")
    assert found_cuda.version.split(".")[:2] == cudart.split(".")[:2]
    assert found_cudnn.version == cudnn
    calls = {e.source.rsplit(" ", 1)[-1]: e.version for e in found_cuda.evidence + found_cudnn.evidence
             if e.source.endswith("()")}
    assert calls["cudaRuntimeGetVersion()"] == ".".join(cudart.split(".")[:2])
    assert calls["cudnnGetVersion()"] == ".".join(cudnn.split(".")[:3])
"""


def test_gpu_image_detection_matches_the_wheel_metadata(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makepyfile(test_versions=VERSIONS_TEST)
    result = run_plugin(
        "--aml-image", images["gpu"], "--aml-cuda", "==12.9.*", "--aml-cudnn", ">=9", "-rA"
    )
    green(result, "cuda", "cudnn", "cuda-consistency", "cuda-framework")
    result.stdout.fnmatch_lines_random(
        ["PASSED *::cuda", "PASSED *::cudnn", "PASSED *::cuda-consistency"]
    )


def test_mismatched_environment_is_flagged_with_its_evidence(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-image",
        images["gpu-mismatch"],
        "--aml-curated",
        "AzureML-tensorflow-2.4-ubuntu18.04-py37-cuda11.0.3-gpu-inference",
    )
    result.stdout.fnmatch_lines_random(
        [
            "*cuda-consistency: CUDA ?system?: 11.0.3 from env CUDA_VERSION contradicts 12.9.79 from *version.json*",
            "cuDNN ?system?: 8.0.5.39 from env NV_CUDNN_VERSION contradicts 9.28.0*",
            "*cuda: CUDA 12.9.* (system) does not satisfy ==11.0.3.* (expected by --aml-curated *gpu-inference)*",
            "*cudnn: cuDNN 9.28.0* (system) does not satisfy ==8.0.5.39.* *",
        ]
    )


def test_cpu_image_has_no_cuda(run_plugin: Any, images: dict[str, str]) -> None:
    assert (
        run_plugin(
            "--aml-image",
            images["minimal"],
            "--aml-cuda",
            "none",
            "--aml-cudnn",
            "none",
            "-k",
            "cuda or cudnn",
        ).ret
        == 0
    )
    result = run_plugin("--aml-image", images["gpu"], "--aml-cuda", "none", "-k", "cuda")
    result.stdout.fnmatch_lines(["*cuda: expected no CUDA runtime (--aml-cuda), but found 12.9.1*"])


def test_cuda_claimed_by_env_lines_but_absent(run_plugin: Any, images: dict[str, str]) -> None:
    # (-k cuda: every check)
    result = run_plugin("--aml-image", images["cudaclaimed"], "--aml-cuda", "11.0.3")
    expect(result, failed=["cuda", "cuda-consistency"], passed=["cuda-framework", "non-root"])
    result.stdout.fnmatch_lines_random(
        [
            "cuda: CUDA 12.9.79 (pip) does not satisfy ==11.0.3.* (expected by --aml-cuda)*",
            "*cuda-consistency: CUDA_VERSION names 11.0.3, but no CUDA 11 runtime is in the image; "
            "the runtime present is 12.9 (pip)",
        ]
    )
