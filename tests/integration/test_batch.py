"""Batch deployments run as a batch endpoint's job would run them, on the batch stand-in: our driver in the
image, the checks of the job, and what the platform would do with each script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import NO_PIP, expect, green, run_built

pytestmark = pytest.mark.engine
HERE = Path(__file__).resolve().parent / "batch"
DATA = HERE / "data"


def batch_deployment(
    pytester: pytest.Pytester,
    image: str,
    script: str,
    settings: str = "",
    extra: str = "",
    size: int = 2,
) -> list[str]:
    """The options for a batch deployment of ``scripts/SCRIPT`` on ``image`` (``settings``: lines under
    ``settings:``, after ``mini_batch_size: SIZE``), scoring the files in ``data/``."""
    pytester.makefile(
        ".yml",
        deployment="$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"
        f"name: scorer\nendpoint_name: batch-endpoint\ncompute: azureml:cpu-cluster\ntype: model\n"
        f"environment:\n  image: {image}\ncode_configuration:\n"
        f"  code: {HERE / 'scripts'}\n  scoring_script: {script}\n"
        f"settings:\n  mini_batch_size: {size}\n{settings}{extra}",
    )
    return [f"--aml-deployment={pytester.path / 'deployment.yml'}", f"--aml-batch-input={DATA}"]


def outputs(pytester: pytest.Pytester, image: str) -> Path:
    """Where the run's outputs came back to (no JUnit report: the cache folder)."""
    safe = image.replace("/", "-").replace(":", "-")
    return pytester.path / ".pytest_cache" / "amlimage-batch" / safe / "azureml-bi"


def test_a_good_batch_deployment_writes_a_row_per_element(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    image = images["batch"]
    settings = "  max_concurrency_per_instance: 2\n"
    result = run_plugin(*batch_deployment(pytester, image, "score.py", settings))
    green(result, "batch-env", "batch-init", "batch-run", "batch-output", "memory", "platform")
    rows = (outputs(pytester, image) / "output" / "predictions.csv").read_text().splitlines()
    assert rows == [f"scored part-{i}.csv 2" for i in range(5)]
    logs = sorted((outputs(pytester, image) / "logs").iterdir())
    assert [log.name for log in logs] == ["worker-0.txt", "worker-1.txt"]
    for log in logs:  # the driver's own lines: init(), and each mini-batch the worker ran
        assert "init() ended in" in log.read_text()
    said = "\n".join(log.read_text() for log in logs)
    assert said.count("run() returned 2 elements") + said.count("run() returned 1 elements") == 3
    result.stdout.fnmatch_lines(
        [
            "amlimage: the batch job of amlimage/batch:latest: 5 of 5 files scored, 5 rows in "
            "predictions.csv; its outputs and each worker's log: *"
        ]
    )
    assert not [line for line in result.stdout.lines if "liveness" in line or "swagger" in line]


def test_parse_args_in_init_fails_batch_init_naming_parse_known_args(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = run_plugin(*batch_deployment(pytester, images["batch"], "parse_args.py"))
    expect(
        result,
        passed=["batch-env"],
        failed=["batch-init"],
        skipped=["batch-run", "batch-output"],
    )
    result.stdout.fnmatch_lines(
        [
            "*batch-init: init() failed in 1 of 1 worker(s): init() exited (SystemExit 2) in argparse: "
            "parse_args() exits on the platform driver's own arguments*use parse_known_args()*",
        ]
    )
    result.stdout.fnmatch_lines(["*unrecognized arguments: --scoring_module_name*"])


def test_a_short_return_fails_batch_run_naming_the_unscored_file(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = run_plugin(*batch_deployment(pytester, images["batch"], "short.py"))
    expect(result, passed=["batch-init", "batch-output"], failed=["batch-run"])
    result.stdout.fnmatch_lines(
        [
            "*batch-run: run() returned 1 element(s) for the 2 files of mini-batch 1: part-3.csv left unscored*",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*1 of 5 files failed; the job still succeeds (error_threshold -1*"]
    )


def test_a_mini_batch_slower_than_the_timeout_fails_batch_run_naming_it(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    settings = "  retry_settings:\n    max_retries: 1\n    timeout: 3\n"
    args = batch_deployment(pytester, images["batch"], "slow.py", settings, size=5)
    result = run_plugin(*args)
    expect(result, passed=["batch-init"], failed=["batch-run"])
    result.stdout.fnmatch_lines(
        [
            "*batch-run: mini-batch 0 (part-0.csv, part-1.csv, part-2.csv and 2 more) made no progress within "
            "retry_settings.timeout of 3 s (line 15), 2 tries: the platform logs 'No progress update in 3 "
            "seconds'*",
        ]
    )
    assert result.duration < 60


def test_summary_only_own_files_pass_and_one_shared_name_fails(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    image, settings = images["batch"], "  output_action: summary_only\n"
    result = run_plugin(*batch_deployment(pytester, image, "summary.py", settings))
    green(result, "batch-run", "batch-output")
    written = sorted(p.name for p in (outputs(pytester, image) / "output").iterdir())
    assert written == [f"part-{i}.txt" for i in range(5)]
    shared = "environment_variables:\n  OUTPUT_NAME: results.txt\n"
    result = run_plugin(*batch_deployment(pytester, image, "summary.py", settings, shared))
    expect(result, passed=["batch-run"], failed=["batch-output"])
    result.stdout.fnmatch_lines(
        [
            "*batch-output: results.txt was written by mini-batches 0 (part-0.csv, part-1.csv) and 1 *"
        ]
    )


def test_an_image_without_pip_fails_batch_env(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    dockerfile = f"FROM {images['batch']}\n{NO_PIP}"
    result = run_built(
        run_plugin, pytester, dockerfile, *batch_deployment(pytester, "unused:1", "score.py")
    )
    expect(result, failed=["batch-env"], passed=["platform", "batch-init", "batch-run"])
    result.stdout.fnmatch_lines(
        ["*batch-env: `python -m pip` fails: *No module named pip*keep pip in the image*"]
    )


def test_azureml_core_1_61_0_beside_setuptools_82_fails_batch_env(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    dockerfile = (
        f'FROM {images["batch"]}\nRUN pip install -q "azureml-core==1.61.0" "setuptools>=82"\n'
    )
    result = run_built(
        run_plugin, pytester, dockerfile, *batch_deployment(pytester, "unused:1", "score.py")
    )
    expect(
        result, failed=["batch-env"], passed=["platform", "batch-init", "batch-run", "batch-output"]
    )
    result.stdout.fnmatch_lines(
        [
            "*batch-env: `import azureml.core` fails: ModuleNotFoundError: No module named 'pkg_resources': "
            "azureml-core 1.61.0 imports pkg_resources, which setuptools 8* no longer has*"
        ]
    )


def mlflow_batch(pytester: pytest.Pytester, folder: str) -> list[str]:
    """An MLflow model batch-deployed with no script (the platform scores it), on ``mlflow/FOLDER``."""
    model = HERE.parent / "mlflow_models" / "sklearn"
    pytester.makefile(
        ".yml",
        deployment="$schema: https://azuremlschemas.azureedge.net/latest/modelBatchDeployment.schema.json\n"
        "name: mlflow-scorer\nendpoint_name: batch-endpoint\ncompute: azureml:cpu-cluster\ntype: model\n"
        f"model:\n  path: {model}\n  type: mlflow_model\n"
        "settings:\n  mini_batch_size: 1\n  retry_settings:\n    max_retries: 0\n",
    )
    return [
        f"--aml-deployment={pytester.path / 'deployment.yml'}",
        f"--aml-batch-input={HERE / 'mlflow' / folder}",
    ]


def test_an_mlflow_model_without_a_script_scores_a_csv_folder(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """The environment is the model's conda file plus azureml-core, made on the image; every row is scored,
    as row, prediction and file_name."""
    result = run_plugin(*mlflow_batch(pytester, "good"), f"--aml-image={images['mlflow']}")
    green(result, "mlflow-model", "batch-env", "batch-init", "batch-run", "batch-output")
    (folder,) = (pytester.path / ".pytest_cache" / "amlimage-batch").iterdir()
    rows = (folder / "azureml-bi" / "output" / "predictions.csv").read_text().splitlines()
    assert [row.split(" ")[::2] for row in rows] == [
        ["0", "a.csv"],
        ["1", "a.csv"],
        ["2", "a.csv"],
        ["0", "b.csv"],
    ]


@pytest.mark.parametrize(
    ("folder", "said"),
    [
        (
            "with-txt",
            "*notes.txt: the MLflow batch driver reads only .csv, *, not .txt: the job fails*",
        ),
        ("mismatch", "*x2*"),
    ],
)
def test_an_mlflow_model_fails_batch_run_on_what_it_cannot_read(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], folder: str, said: str
) -> None:
    result = run_plugin(*mlflow_batch(pytester, folder), f"--aml-image={images['mlflow']}")
    expect(result, passed=["batch-init"], failed=["batch-run"])
    result.stdout.fnmatch_lines([f"*batch-run: mini-batch * 1 try: {said}"])


def test_workers_whose_models_do_not_fit_fail_memory_alone(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """Two workers of 600 MiB each in a 1 GiB container, both in init() at once: the kernel kills one; memory
    says so, and batch-init skips, pointing at it (one cause, one failure); the worker left scores the job.

    The first worker holds its model for 3 s in init(): without that, one could score the whole job and end
    before the other began (seen once under load), and nothing would be killed."""
    settings = "  max_concurrency_per_instance: 2\n"
    variables = "environment_variables:\n  INIT_SECONDS: '3'\n"
    args = batch_deployment(pytester, images["batch"], "big_init.py", settings, variables)
    result = run_plugin(*args, "--aml-memory=1g", "-rs")
    expect(result, failed=["memory"], skipped=["batch-init"])
    result.stdout.fnmatch_lines(
        ["SKIPPED*: the kernel killed 1 worker(s) for want of memory: see memory*"]
    )
    result.stdout.fnmatch_lines(
        [
            "*memory: out of memory: the kernel killed a process at the container's limit of 1024 MiB*"
            "fewer workers (max_concurrency_per_instance)*"
        ]
    )


def test_a_model_that_fits_the_instance_type_passes_memory(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    args = batch_deployment(pytester, images["batch"], "big_init.py")
    result = run_plugin(*args, "--aml-instance-type=Standard_DS1_v2")
    expect(result, passed=["batch-init", "batch-run", "memory"])
    result.stdout.fnmatch_lines(["*memory peak * MiB (batch) of 3584 MiB, Standard_DS1_v2 *"])


def test_an_image_with_a_conda_file_runs_in_the_environment_made_on_it(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """environment: image + conda_file, as Microsoft's batch samples write it: the environment is built on the
    image first and the driver runs its Python; one without azureml-core fails batch-env, naming it."""
    conda = f"  conda_file: {HERE / 'environment' / 'conda.yaml'}\n"
    args = batch_deployment(pytester, images["mlflow"], "score.py")
    text = (pytester.path / "deployment.yml").read_text()
    (pytester.path / "deployment.yml").write_text(
        text.replace(f"  image: {images['mlflow']}\n", f"  image: {images['mlflow']}\n{conda}")
    )
    result = run_plugin(*args)
    expect(
        result, failed=["batch-env"], passed=["platform", "batch-init", "batch-run", "batch-output"]
    )
    result.stdout.fnmatch_lines(
        [
            "*batch-env: `import azureml.core` fails: ModuleNotFoundError: No module named 'azureml': add "
            "azureml-core to the environment*",
            "(the Python the driver ran with: /azureml-envs/model/bin/python 3.11*",
        ]
    )
