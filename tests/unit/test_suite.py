"""Check assembly: which built-in checks an image gets, from the settings and what the image says."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_amlimage.checks.assemble import checks_for
from pytest_amlimage.config.deployment import Endpoint
from pytest_amlimage.config.expectations import parse_expectation
from pytest_amlimage.config.expectations import parse_library_expectation as cuda_expectation
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint.samples import Sample
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.run.image import ImageRun
from pytest_amlimage.run.session import AmlSession

BASE = [
    "non-root",
    "app-permissions",
    "image-config",
    "pip-check",
    "liveness",
    "probe-budget",
    "bad-request",
    "swagger",
    "stable",
    "memory",
]


@pytest.fixture
def session() -> Iterator[AmlSession]:
    aml = AmlSession(Settings())
    yield aml
    aml.finish()


def ids(session: AmlSession, settings: Settings, info: ImageInfo | None = None) -> list[str]:
    session.settings = settings
    image = ImageRun(session, "img:1", info or ImageInfo())
    return [check.id for check in checks_for(image, settings, session.context(image))]


def test_a_plain_image_gets_the_base_checks(session: AmlSession) -> None:
    assert ids(session, Settings()) == BASE


def test_expectations_and_the_framework(session: AmlSession) -> None:
    numpy = parse_expectation("numpy<2", "--aml-expect")
    torch = parse_expectation("torch==2.*", "--aml-framework")
    found = ids(session, Settings(expectations=(numpy,) if numpy else (), framework=torch))
    assert found[3:6] == ["version[numpy]", "framework[torch]", "pip-check"]


def test_a_curated_row_brings_its_packages_and_framework(session: AmlSession) -> None:
    found = ids(session, Settings(curated="AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference"))
    assert [i for i in found if i.startswith(("python", "version", "framework"))] == [
        "python",
        "version[numpy]",
        "version[pandas]",
        "framework[scikit-learn]",
    ]


def test_a_current_row_expects_what_its_environment_installs(session: AmlSession) -> None:
    found = ids(session, Settings(curated="mlflow-py312-inference"))
    assert "python" in found
    assert {
        "version[azureml-ai-monitoring]",
        "version[mlflow]",
        "version[azureml-inference-server-http]",
    } <= set(found)


def test_gpu_checks_follow_expectations_or_the_images_cuda_claim(session: AmlSession) -> None:
    assert "cuda-consistency" not in ids(session, Settings())
    claimed = ids(session, Settings(), ImageInfo(env={"CUDA_VERSION": "12.4.1"}))
    assert [i for i in claimed if i.startswith("cuda")] == ["cuda-consistency", "cuda-framework"]
    expected = cuda_expectation("12.4", "--aml-cuda", "cuda")
    assert next(i for i in ids(session, Settings(cuda=expected)) if i.startswith("cuda")) == "cuda"


def test_samples_get_a_score_check_each(session: AmlSession, tmp_path: Path) -> None:
    session.samples = [
        Sample("a", tmp_path / "a.json", b"{}"),
        Sample("b", tmp_path / "b.json", b"{}"),
    ]
    found = ids(session, Settings())
    assert found[found.index("probe-budget") + 1 : found.index("bad-request")] == [
        "score[a]",
        "score[b]",
        "liveness-under-load",
        "concurrency",
    ]


SERVER = ["server", "entry-script"]


@pytest.mark.parametrize(
    ("settings", "cmd", "expected"),
    [
        (Settings(), ("runsvdir", "/var/runit"), []),  # nothing to serve: kept alive for the probe
        (Settings(), ("azmlinfsrv", "--entry_script", "score.py"), SERVER),
        (Settings(endpoint=Endpoint(custom_container=True)), ("torchserve",), []),  # its own server
        (
            Settings(endpoint=Endpoint(custom_container=True)),
            ("azmlinfsrv", "--entry_script=s.py"),
            SERVER,
        ),
        (Settings(command=("uvicorn", "app:app")), (), []),
    ],
)
def test_the_servers_checks_follow_who_serves(
    session: AmlSession, settings: Settings, cmd: tuple[str, ...], expected: list[str]
) -> None:
    found = ids(session, settings, ImageInfo(cmd=cmd))
    assert [i for i in found if i in ("server", "entry-script")] == expected


def test_lock_update_replaces_the_comparison(session: AmlSession, tmp_path: Path) -> None:
    assert ids(session, Settings(lock=tmp_path / "l.json", lock_update=True))[-1] == "lock-update"


def test_a_lock_file_brings_the_policies_but_no_parity(session: AmlSession, tmp_path: Path) -> None:
    session.lock = {"distributions": {}}
    found = ids(session, Settings(lock=tmp_path / "l.json"))
    baseline = [i for i in found if i.startswith("baseline")]
    assert baseline == [
        "baseline[removed]",
        "baseline[downgrades]",
        "baseline[major]",
        "baseline[user]",
        "baseline[cuda]",
    ]


def test_a_failed_build_shows_only_the_dockerfile_checks_and_the_build(
    session: AmlSession, tmp_path: Path
) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM mcr.microsoft.com/azureml/minimal-py312-inference:latest\n")
    session.settings = settings = Settings(build=dockerfile)
    session.built = image = ImageRun(session, "img:1", ImageInfo(), build_error="step 2 failed")
    assert [c.id for c in checks_for(image, settings, session.context(image))] == [
        "dockerfile[last-user]",
        "dockerfile[entry-paths]",
        "dockerfile[base-image]",
        "build",
    ]


def test_a_deployment_yaml_is_checked_first(session: AmlSession) -> None:
    from pytest_amlimage.config import deployment

    example = Path(__file__).resolve().parents[2] / "examples/deployment/deployment.yml"
    found = deployment.load(example)
    assert ids(session, Settings(deployment_yaml=found, endpoint=found.endpoint))[0] == "deployment"
    assert "deployment" not in ids(session, Settings())
