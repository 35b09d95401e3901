"""Check assembly: which built-in checks an image gets, from the settings and what the image says; and
every check it binds runs, engine-free, against a fake image under test."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_amlimage.checks.assemble import Context, checks_for
from pytest_amlimage.checks.check import Check
from pytest_amlimage.config import catalog, instance_types
from pytest_amlimage.config.batch import KIND, BatchSettings
from pytest_amlimage.config.deployment import Deployment, Endpoint, Route
from pytest_amlimage.config.expectations import parse_expectation
from pytest_amlimage.config.expectations import parse_library_expectation as cuda_expectation
from pytest_amlimage.config.mlflow import read as read_mlflow_model
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint.samples import Sample
from pytest_amlimage.engine.dockerfile import parse
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.errors import CheckFailed, NotApplicable
from tests.unit.fakes import FakeImage

BASE = [
    "non-root",
    "app-permissions",
    "image-config",
    "platform",
    "secrets",
    "pip-check",
    "liveness",
    "probe-budget",
    "bad-request",
    "swagger",
    "stable",
    "memory",
]

NOTHING_ELSE = Context()  # no Dockerfile, row, samples, baseline or lock


def ids(
    settings: Settings, info: ImageInfo | None = None, context: Context = NOTHING_ELSE
) -> list[str]:
    image = FakeImage(settings, info or ImageInfo())
    if settings.curated:  # the row named, as the run finds it
        context = dataclasses.replace(context, curated=catalog.find(settings.curated))
    return [check.id for check in checks_for(image, settings, context)]


def test_a_plain_image_gets_the_base_checks() -> None:
    assert ids(Settings()) == BASE


def test_expectations_and_the_framework() -> None:
    numpy = parse_expectation("numpy<2", "--aml-expect")
    torch = parse_expectation("torch==2.*", "--aml-framework")
    found = ids(Settings(expectations=(numpy,) if numpy else (), framework=torch))
    assert found[5:8] == ["version[numpy]", "framework[torch]", "pip-check"]


def test_a_curated_row_brings_its_packages_and_framework() -> None:
    found = ids(Settings(curated="AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference"))
    assert [i for i in found if i.startswith(("python", "version", "framework"))] == [
        "python",
        "version[numpy]",
        "version[pandas]",
        "framework[scikit-learn]",
    ]


def test_a_current_row_expects_what_its_environment_installs() -> None:
    found = ids(Settings(curated="mlflow-py312-inference"))
    assert "python" in found
    assert {
        "version[azureml-ai-monitoring]",
        "version[mlflow]",
        "version[azureml-inference-server-http]",
    } <= set(found)


def test_gpu_checks_follow_expectations_or_the_images_cuda_claim() -> None:
    assert "cuda-consistency" not in ids(Settings())
    claimed = ids(Settings(), ImageInfo(env={"CUDA_VERSION": "12.4.1"}))
    assert [i for i in claimed if i.startswith("cuda")] == ["cuda-consistency", "cuda-framework"]
    expected = cuda_expectation("12.4", "--aml-cuda", "cuda")
    assert next(i for i in ids(Settings(cuda=expected)) if i.startswith("cuda")) == "cuda"


@pytest.mark.parametrize("given_by", ["--aml-instance-type", "deployment YAML"])
def test_a_gpu_instance_type_makes_a_gpu_run_whatever_gave_it(given_by: str) -> None:
    """The CUDA checks follow the instance type the run is sized as, from an option or the YAML."""
    gpu, cpu = instance_types.find("Standard_NC4as_T4_v3"), instance_types.find("Standard_DS3_v2")
    if given_by == "deployment YAML":
        settings = Settings(instance=gpu, endpoint=Endpoint(instance_type="Standard_NC4as_T4_v3"))
    else:
        settings = Settings(instance=gpu)
    assert [i for i in ids(settings) if i.startswith("cuda")] == [
        "cuda-consistency",
        "cuda-framework",
    ]
    assert "cuda-consistency" not in ids(Settings(instance=cpu))


def test_a_sample_that_cannot_be_sent_skips_its_score_and_is_left_out_of_the_load() -> None:
    unusable = Sample(
        "input_example", Path("MLmodel"), b"", unusable="the model's input example: sparse"
    )
    found = {
        check.id: check
        for check in checks_for(
            FakeImage(Settings(), ImageInfo()), Settings(), Context(samples=(unusable,))
        )
    }
    assert "liveness-under-load" not in found and "concurrency" not in found
    with pytest.raises(NotApplicable, match="sparse"):
        found["score[input_example]"].run()


def test_samples_get_a_score_check_each(tmp_path: Path) -> None:
    samples = (Sample("a", tmp_path / "a.json", b"{}"), Sample("b", tmp_path / "b.json", b"{}"))
    found = ids(Settings(), context=Context(samples=samples))
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
    settings: Settings, cmd: tuple[str, ...], expected: list[str]
) -> None:
    found = ids(settings, ImageInfo(cmd=cmd))
    assert [i for i in found if i in ("server", "entry-script")] == expected


def test_a_row_whose_image_serves_itself_asks_for_no_entry_script_or_azmlinfsrv() -> None:
    """The foundation-model images run their own server under runit: nothing of azmlinfsrv's is demanded."""
    found = ids(
        Settings(curated="foundation-model-inference"), ImageInfo(cmd=("runsvdir", "/var/runit"))
    )
    assert not set(SERVER) & set(found)
    assert {"liveness", "python", "framework[torch]"} <= set(found)


def test_capacity_is_collected_only_when_asked_and_throughput_beside_a_baseline() -> None:
    assert "capacity" not in ids(Settings())
    assert ids(Settings(capacity=True))[-1] == "capacity"
    baseline = FakeImage(Settings(), ImageInfo(), reference="old:1")
    sample = Sample("a", Path("a.json"), b"{}")
    with_baseline = Context(samples=(sample,), baseline=baseline)
    assert "baseline[throughput]" not in ids(Settings(), context=with_baseline)
    assert ids(Settings(capacity=True), context=with_baseline)[-1] == "baseline[throughput]"


def test_lock_update_replaces_the_comparison(tmp_path: Path) -> None:
    assert ids(Settings(lock=tmp_path / "l.json", lock_update=True))[-1] == "lock-update"


def test_a_lock_file_brings_the_policies_but_no_parity(tmp_path: Path) -> None:
    lock = Context(lock={"distributions": {}})
    found = ids(Settings(lock=tmp_path / "l.json"), context=lock)
    baseline = [i for i in found if i.startswith("baseline")]
    assert baseline == [
        "baseline[removed]",
        "baseline[downgrades]",
        "baseline[major]",
        "baseline[user]",
        "baseline[cuda]",
    ]


def test_a_failed_build_shows_only_the_dockerfile_checks_and_the_build(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM mcr.microsoft.com/azureml/minimal-py312-inference:latest\n")
    settings = Settings(build=dockerfile)
    image = FakeImage(settings, ImageInfo(), build_error="step 2 failed")
    built_from = Context(built_from=parse(dockerfile, tmp_path, {}))
    assert [c.id for c in checks_for(image, settings, built_from)] == [
        "dockerfile[last-user]",
        "dockerfile[secrets]",
        "dockerfile[entry-paths]",
        "dockerfile[base-image]",
        "build",
    ]


def test_a_failed_model_environment_is_the_build_check() -> None:
    """An MLflow model's environment, made on the image, failed: no Dockerfile, the build's own check."""
    image = FakeImage(Settings(), ImageInfo(), build_error="conda env create failed")
    assert [c.id for c in checks_for(image, Settings(), NOTHING_ELSE)] == ["build"]


def test_a_deployment_yaml_is_checked_first() -> None:
    from pytest_amlimage.config import deployment_kinds

    example = Path(__file__).resolve().parents[2] / "examples/deployment/deployment.yml"
    found = deployment_kinds.load(example)
    assert ids(Settings(deployment_yaml=found, endpoint=found.endpoint))[0] == "deployment"
    assert "deployment" not in ids(Settings())


def batch_settings(tmp_path: Path) -> Settings:
    """A batch deployment's run: its script, its settings, its input."""
    script = tmp_path / "score.py"
    script.write_text("def init(): pass\ndef run(mini_batch): return mini_batch\n")
    yaml = Deployment(tmp_path / "d.yml", Endpoint(), {}, kind=KIND, batch=BatchSettings())
    return Settings(entry_script=script, deployment_yaml=yaml, batch_input=tmp_path)


def test_a_batch_deployment_gets_the_batch_checks_instead_of_the_online_ones(
    tmp_path: Path,
) -> None:
    found = ids(batch_settings(tmp_path))
    assert found == [
        "deployment",
        *BASE[:6],
        "batch-env",
        "batch-init",
        "batch-run",
        "batch-output",
        "memory",
    ]


def everything(tmp_path: Path) -> list[Check]:
    """Every check the assembler binds with every option on (a Dockerfile, a row, a sample, a baseline)."""
    script, dockerfile = tmp_path / "score.py", tmp_path / "Dockerfile"
    script.write_text("def init(): pass\ndef run(data): return data\n")
    dockerfile.write_text(
        "FROM mcr.microsoft.com/azureml/minimal-py312-inference:latest\nUSER dockeruser\n"
    )
    (tmp_path / "requirements.txt").write_text("numpy>=1\n")
    settings = Settings(
        expectations=(parse_expectation("numpy>=1", "test"),),
        framework=parse_expectation("torch>=2", "test"),
        curated="minimal-py312-inference",
        cuda=cuda_expectation("12.4", "test", "cuda"),
        cudnn=cuda_expectation("9", "test", "cudnn"),
        gpu=True,
        requirements=tmp_path / "requirements.txt",
        entry_script=script,
        offline=True,
        capacity=True,
        lock=tmp_path / "lock.json",
        sbom=tmp_path / "sbom.json",
        endpoint=Endpoint(readiness_route=Route("/ready", 5001)),  # a readiness probe of its own
    )
    sample = Sample("a", tmp_path / "a.json", b"{}")
    baseline = FakeImage(settings, ImageInfo(), reference="old:1")
    row = catalog.find("minimal-py312-inference")
    mlflow = read_mlflow_model(
        Path(__file__).parents[1] / "integration" / "mlflow_models" / "sklearn"
    )
    context = Context(parse(dockerfile, tmp_path, {}), row, (sample,), baseline, None, mlflow)
    info = ImageInfo(user="dockeruser", env={"AZUREML_ENTRY_SCRIPT": "score.py"})
    image = FakeImage(settings, info)
    return list(checks_for(image, settings, context))


def test_every_bound_check_runs_against_a_fake_image(tmp_path: Path) -> None:
    """Every check the assembler can bind calls its body with inputs of the right kinds: each ends passed,
    failed (the fake serves nothing) or not applicable; never with a TypeError or AttributeError."""
    outcomes = {}
    for check in everything(tmp_path):
        try:
            check.run()
            outcomes[check.id] = "passed"
        except (CheckFailed, NotApplicable) as ended:
            outcomes[check.id] = type(ended).__name__
    assert {"deployment", "lock-update"}.isdisjoint(outcomes)  # neither asked for
    assert outcomes["non-root"] == "passed" and outcomes["version[numpy]"] == "passed"
    assert outcomes["framework[torch]"] == "CheckFailed"  # the fake has no torch
    assert outcomes["liveness"] == "Unavailable" and outcomes["baseline[latency]"] == "Unavailable"
    assert outcomes["swagger"] == "Unavailable" and outcomes["memory"] == "NotApplicable"
    assert len(outcomes) > 35, sorted(outcomes)
