import pytest

from pytest_amlimage.checks import gpu
from pytest_amlimage.config.expectations import parse_library_expectation
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Evidence, cuda


def ev(
    library: str, origin: str, source: str, version: str | None, error: str | None = None
) -> Evidence:
    return Evidence(library, origin, source, version, error)


NVIDIA_IMAGE = [
    ev("cuda", "system", "env CUDA_VERSION", "13.0.2"),
    ev("cuda", "system", "env NV_CUDA_CUDART_VERSION", "13.0.96"),
    ev("cuda", "system", "/usr/local/cuda/lib64/libcudart.so.13.0.96", "13.0.96"),
    ev("cudnn", "system", "env NV_CUDNN_VERSION", "9.14.0.64"),
    ev("cudnn", "system", "/lib/x86_64-linux-gnu/libcudnn.so.9", "9"),
    ev("cuda", "pip", "/site-packages/nvidia/cu13/lib/libcudart.so.13", "13"),
    ev("cudnn", "pip", "/site-packages/nvidia/cudnn/include/cudnn_version.h", "9.19.0"),
    ev("cudnn", "pip", "pip nvidia-cudnn-cu13", "9.19.0.56"),
]


def test_two_cudnns_coexist_and_the_frameworks_one_wins() -> None:
    with_torch = [
        *NVIDIA_IMAGE,
        ev("cuda", "framework", "torch build", "13.0"),
        ev("cudnn", "framework", "torch build", "9.19.0"),
    ]
    cudnn = cuda.resolve(with_torch, "cudnn")
    assert (cudnn.version, cudnn.origin, cudnn.contradictions) == ("9.19.0.56", "pip", ())
    # the toolkit version, as the catalog states it
    assert cuda.resolve(with_torch, "cuda").version == "13.0.2"
    gpu.check_framework_build(cuda.resolve(with_torch, "cuda"))


def test_without_a_framework_the_system_installation_wins() -> None:
    cudnn = cuda.resolve(NVIDIA_IMAGE, "cudnn")
    assert (cudnn.version, cudnn.origin) == ("9.14.0.64", "system")


def test_an_environment_that_disagrees_with_its_library_is_a_contradiction() -> None:
    stale = [
        ev("cuda", "system", "env CUDA_VERSION", "11.0.3"),
        ev("cuda", "system", "/usr/local/cuda/version.json cuda_cudart", "12.9.79"),
    ]
    resolution = cuda.resolve(stale, "cuda")
    assert resolution.version == "12.9.79"  # the library, not the stale ENV line
    assert resolution.contradictions == (
        "CUDA [system]: 11.0.3 from env CUDA_VERSION contradicts 12.9.79 from /usr/local/cuda/version.json cuda_cudart",
    )
    with pytest.raises(CheckFailed, match="fix the ENV lines"):
        gpu.check_consistent([resolution])


def test_toolkit_and_cudart_versions_agree_on_major_minor() -> None:
    gpu.check_consistent([cuda.resolve(NVIDIA_IMAGE, "cuda")])


def test_expectations_with_specifiers_and_none() -> None:
    resolved = cuda.resolve(NVIDIA_IMAGE, "cuda")
    for text in ("13.0.2", "==13.0.*", ">=13"):
        expected = parse_library_expectation(text, "--aml-cuda", "cuda")
        assert expected is not None
        gpu.check_version(expected, resolved)
    wrong = parse_library_expectation("11.0.3", "--aml-curated X", "cuda")
    assert wrong is not None
    with pytest.raises(
        CheckFailed,
        match=r"CUDA 13.0.2 \(system\) does not satisfy ==11\.0\.3\.\* \(expected by --aml-curated X\)",
    ):
        gpu.check_version(wrong, resolved)
    none = parse_library_expectation("none", "--aml-cuda", "cuda")
    assert none is not None
    gpu.check_version(none, cuda.resolve([], "cuda"))
    with pytest.raises(CheckFailed, match="expected no CUDA runtime"):
        gpu.check_version(none, resolved)


def test_framework_built_for_another_cuda_major() -> None:
    evidence = [*NVIDIA_IMAGE, ev("cuda", "framework", "torch build", "12.1")]
    with pytest.raises(
        CheckFailed, match="torch build is for CUDA 12.1, but the image's CUDA runtime is 13.x"
    ):
        gpu.check_framework_build(cuda.resolve(evidence, "cuda"))


def test_cuda_claimed_by_the_environment_but_absent_is_not_a_runtime() -> None:
    claimed = [
        ev("cuda", "system", "env CUDA_VERSION", "11.0.3"),
        ev("cuda", "pip", "/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12", "12"),
        ev(
            "cuda",
            "pip",
            "/site-packages/nvidia/cuda_runtime/lib/libcudart.so.12 cudaRuntimeGetVersion()",
            "12.9",
        ),
        ev("cuda", "pip", "pip nvidia-cuda-runtime-cu12", "12.9.79"),
    ]
    resolution = cuda.resolve(claimed, "cuda")
    assert (resolution.version, resolution.origin) == ("12.9.79", "pip")
    assert resolution.contradictions == (
        "CUDA_VERSION names 11.0.3, but no CUDA 11 runtime is in the image; the runtime present is 12.9 (pip)",
    )
    expected = parse_library_expectation("11.0.3", "--aml-cuda", "cuda")
    assert expected is not None
    with pytest.raises(CheckFailed, match=r"CUDA 12.9.79 \(pip\) does not satisfy ==11\.0\.3\.\*"):
        gpu.check_version(expected, resolution)


def test_an_environment_that_agrees_with_the_wheel_is_no_contradiction() -> None:
    agreeing = [
        ev("cuda", "system", "env CUDA_VERSION", "12.9.1"),
        ev("cuda", "pip", "pip nvidia-cuda-runtime-cu12", "12.9.79"),
    ]
    assert cuda.resolve(agreeing, "cuda").contradictions == ()


@pytest.mark.parametrize(
    ("text", "found", "holds"),
    [
        ("13.0", "13.0.2", True),  # bare: a prefix, as image names write versions (cuda12.4)
        ("13", "13.0.2", True),
        ("13.0.2", "13.0.2", True),
        ("13.1", "13.0.2", False),
        ("9.19", "9.19.0.56", True),
        ("9.19.0.56", "9.19.0.56", True),
        ("==13.0", "13.0.2", False),  # an operator keeps its PEP 440 meaning
        ("==13.0.*", "13.0.2", True),
        (">=12.4", "13.0.2", True),
        ("~=9.19.0", "9.19.0.56", True),
    ],
)
def test_bare_versions_are_prefixes_and_operators_are_pep_440(
    text: str, found: str, holds: bool
) -> None:
    expected = parse_library_expectation(text, "--aml-cuda", "cuda")
    assert expected is not None and expected.satisfied_by(found) is holds
