"""The image run as an Azure ML online deployment runs it: the platform's layout, probes and request limits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from .conftest import APPS, expect

pytestmark = pytest.mark.engine
SLOW_REQUESTS_ALLOWED = "request_settings:\n  request_timeout_ms: 60000\n"


def deploy(
    pytester: pytest.Pytester,
    images: dict[str, str],
    script: Path,
    extra: str = "",
    model: bool = False,
) -> str:
    """A deployment YAML for ``script`` (its code folder: the script's folder) on the minimal stand-in."""
    code = script.parent
    model_lines = (
        f"model:\n  name: weights\n  version: 3\n  path: {APPS / 'model'}\n" if model else ""
    )
    (pytester.path / "request.json").write_text('{"data": [1, 2.5]}')
    pytester.makefile(
        ".yml",
        deployment=f"environment:\n  image: {images['minimal']}\ncode_configuration:\n  code: {code}\n"
        f"  scoring_script: {script.relative_to(code)}\n{model_lines}{extra}",
    )
    return f"--aml-deployment={pytester.path / 'deployment.yml'}"


def test_a_model_read_where_the_endpoint_puts_it_serves(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = run_plugin(
        deploy(pytester, images, APPS / "working" / "score.py", model=True), "-k", "liveness"
    )
    expect(result, passed=["liveness"])


def test_a_model_path_that_only_worked_with_the_old_layout_fails(
    run_plugin: Any, images: dict[str, str]
) -> None:
    script, model = APPS / "old_layout" / "score.py", APPS / "model"
    result = run_plugin(
        "--aml-image",
        images["minimal"],
        f"--aml-entry-script={script}",
        f"--aml-model-dir={model}",
        "-k",
        "liveness",
    )
    expect(result, failed=["liveness"])
    result.stdout.fnmatch_lines(
        ["*No such file or directory: '/var/azureml-app/azureml-models/*/1/weights.json'*"]
    )


def test_sibling_imports_resolve_from_the_scripts_own_folder_only(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    nested = APPS / "nested" / "src"
    sibling = run_plugin(
        deploy(pytester, images, nested / "onlinescoring" / "score.py"), "-k", "liveness"
    )
    expect(sibling, passed=["liveness"])
    # The code folder is src/, the script sits in src/onlinescoring/: the endpoint's app root is onlinescoring/.
    (pytester.path / "deployment.yml").write_text(
        f"environment:\n  image: {images['minimal']}\n"
        f"code_configuration:\n  code: {nested}\n  scoring_script: onlinescoring/score_root_import.py\n"
    )
    root = run_plugin(f"--aml-deployment={pytester.path / 'deployment.yml'}", "-k", "liveness")
    expect(root, failed=["liveness"])
    root.stdout.fnmatch_lines(["*No module named 'helpers'*"])


def test_slow_init_over_a_small_probe_budget(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    probes = "liveness_probe:\n  initial_delay: 1\n  period: 1\n  failure_threshold: 1\n"
    result = run_plugin(
        deploy(pytester, images, APPS / "slow_init" / "score.py", probes), "-k", "probe-budget"
    )
    expect(result, failed=["probe-budget"])
    result.stdout.fnmatch_lines(
        [
            "*probe-budget: the server did not answer GET / with 200 within 2 s (the liveness probe's "
            "budget: initial_delay 1 + period 1 * failure_threshold 1, from deployment *deployment.yml;*",
            "Hint: a slow init() needs more time*raise liveness_probe.initial_delay or failure_threshold*",
        ]
    )


def test_slow_init_within_the_budget_shows_its_margin(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = run_plugin(
        deploy(pytester, images, APPS / "slow_init" / "score.py"), "-k", "probe-budget"
    )
    expect(result, passed=["probe-budget"])
    result.stdout.fnmatch_lines(
        ["*amlimage: endpoint*", "*: GET / answered after * s of a 310 s probe budget (margin * s)"]
    )
    answered = re.search(r"GET / answered after ([\d.]+) s", result.stdout.str())
    assert answered is not None and float(answered.group(1)) >= 3.0  # init() sleeps 3 s


def score_slow_run(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], extra: str
) -> Any:
    """The slow app's one sample scored under ``extra`` of the deployment YAML; its score check fails."""
    deployment = deploy(pytester, images, APPS / "slow_run" / "score.py", extra)
    result = run_plugin(deployment, "--aml-sample=request.json", "-k", "score")
    expect(result, failed=["score[request]"])
    return result


def test_run_over_the_request_timeout_would_get_408(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = score_slow_run(
        run_plugin, pytester, images, "request_settings:\n  request_timeout_ms: 500\n"
    )
    result.stdout.fnmatch_lines(
        [
            "*score?request?: POST /score took 1??? ms (run() itself: 1* ms, by x-ms-run-fn-exec-ms): "
            "the endpoint would answer 408 after 500 ms (request_settings.request_timeout_ms*",
        ]
    )


def test_one_sync_worker_fails_liveness_under_load_and_two_pass(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    slow = "environment_variables:\n  RUN_SECONDS: '3'\nrequest_settings:\n  request_timeout_ms: 10000\n"
    args = (
        deploy(pytester, images, APPS / "slow_run" / "score.py", slow),
        "--aml-sample=request.json",
    )
    single = run_plugin(*args, "-k", "under-load")
    expect(single, failed=["liveness-under-load"])
    single.stdout.fnmatch_lines(
        [
            "*liveness-under-load: while POST /score was busy (3.* s), GET / gave no answer within the liveness probe*"
        ]
    )
    two = slow.replace("RUN_SECONDS: '3'\n", "RUN_SECONDS: '3'\n  WORKER_COUNT: '2'\n")
    deploy(pytester, images, APPS / "slow_run" / "score.py", two)
    expect(run_plugin(*args, "-k", "under-load"), passed=["liveness-under-load"])


def test_concurrent_requests_all_answer_and_show_their_latency(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    extra = (
        "environment_variables:\n  RUN_SECONDS: '0.2'\n"
        "request_settings:\n  max_concurrent_requests_per_instance: 3\n"
    )
    args = (
        deploy(pytester, images, APPS / "slow_run" / "score.py", extra),
        "--aml-sample=request.json",
    )
    result = run_plugin(*args, "-k", "concurrency")
    expect(result, passed=["concurrency"])
    result.stdout.fnmatch_lines(["*: 3 requests at once: p50 * ms, p95 * ms"])


def test_a_run_slower_than_worker_timeout_names_the_kill_first(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """gunicorn kills the worker and the server answers 500: the first line says which limit did it."""
    extra = (
        "environment_variables:\n  RUN_SECONDS: '4'\n  WORKER_TIMEOUT: '2'\n"
        + SLOW_REQUESTS_ALLOWED
    )
    result = score_slow_run(run_plugin, pytester, images, extra)
    result.stdout.fnmatch_lines(
        [
            "*score?request?: the worker was killed after WORKER_TIMEOUT=2 s (gunicorn's WORKER TIMEOUT)*"
        ]
    )
