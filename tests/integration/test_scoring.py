"""The scoring checks against real servers running entry scripts we control."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import APPS, expect, green

pytestmark = pytest.mark.engine
SAMPLES = APPS.parent / "samples"


def serve(run_plugin: Any, images: dict[str, str], app: str, *extra: str) -> pytest.RunResult:
    return run_plugin(
        "--aml-image",
        images["minimal"],
        "--aml-entry-script",
        str(APPS / app / "score.py"),
        "--aml-model-dir",
        str(APPS / "model"),
        "--aml-sample",
        str(SAMPLES),
        "-rA",
        *extra,
    )


def test_working_script_reads_its_model_and_matches_the_expected_response(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = serve(run_plugin, images, "working")
    green(result, "entry-script", "liveness", "score[numbers]")
    result.stdout.fnmatch_lines(["PASSED *::score?numbers?"])


def test_tolerance_is_configurable(run_plugin: Any, images: dict[str, str]) -> None:
    result = serve(run_plugin, images, "working", "--aml-atol", "0", "--aml-rtol", "0")
    expect(result, failed=["score[numbers]"], passed=["liveness", "concurrency"])
    result.stdout.fnmatch_lines(["*$.scaled?1?: 7.5 != expected 7.5000000001*"])


def test_init_raising_fails_liveness_at_once_with_the_traceback(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = serve(run_plugin, images, "init_raises", "--aml-ready-timeout", "100")
    serving = [
        "probe-budget",
        "score[numbers]",
        "liveness-under-load",
        "concurrency",
        "bad-request",
    ]
    expect(result, failed=["liveness"], skipped=serving, passed=["server", "entry-script"])
    result.stdout.fnmatch_lines(
        [
            "*liveness: init() raised: RuntimeError: model file corrupted: cannot load weights*",
            "SKIPPED * not run: liveness failed: init() raised: RuntimeError: model file corrupted*",
        ]
    )
    assert result.duration < 60  # stopped at the exit, not at the 100 s timeout


def test_syntax_error_is_shown(run_plugin: Any, images: dict[str, str]) -> None:
    result = serve(run_plugin, images, "syntax_error")
    expect(result, failed=["entry-script", "liveness"], passed=["server"])
    result.stdout.fnmatch_lines(["*SyntaxError*"])


def test_run_raising_is_reported_as_such(run_plugin: Any, images: dict[str, str]) -> None:
    """The exception's own line is in the first line, and concurrency, which meets the same exception for the
    same sample, skips pointing at score (one cause, one failure)."""
    result = serve(run_plugin, images, "run_raises")
    expect(
        result, failed=["score[numbers]"], passed=["liveness", "stable"], skipped=["concurrency"]
    )
    result.stdout.fnmatch_lines(
        [
            "score[[]numbers[]]: run() raised ValueError: shapes (1,2) and (3,) not aligned (the server answered 500*",
            "SKIPPED*not run: score[[]numbers[]] failed: run() raised ValueError: shapes*",
        ]
    )


def test_slow_init_is_waited_for(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(
        "--aml-image", images["minimal"], "--aml-entry-script", str(APPS / "slow_init" / "score.py")
    )
    green(result, "liveness", "probe-budget")


def test_slow_init_beyond_the_timeout_fails_with_the_log(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-image",
        images["minimal"],
        "--aml-entry-script",
        str(APPS / "slow_init" / "score.py"),
        "--aml-ready-timeout",
        "0.5",
    )
    expect(result, failed=["liveness"], passed=["entry-script"])
    result.stdout.fnmatch_lines(
        ["*did not answer GET / with 200 within 0.5 s*", "*Hint: a slow init()*"]
    )


def test_hanging_run_hits_the_score_timeout(run_plugin: Any, images: dict[str, str]) -> None:
    result = serve(run_plugin, images, "hangs", "--aml-score-timeout", "1")
    result.stdout.fnmatch_lines(
        ["*score?numbers?: POST /score: no answer within 1 s (--aml-score-timeout)*"]
    )


def test_non_json_and_huge_responses(run_plugin: Any, images: dict[str, str]) -> None:
    serve(run_plugin, images, "not_json").stdout.fnmatch_lines(["*the response is not JSON*"])
    serve(run_plugin, images, "huge").stdout.fnmatch_lines(["*the response is larger than 10 MB*"])


def test_decorated_script_serves_a_swagger_with_its_schema(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-image",
        images["minimal"],
        "--aml-entry-script",
        str(APPS / "decorated" / "score.py"),
        "-rA",
    )
    green(result, "swagger")


def test_baked_in_code_and_model_serve_without_options(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-image",
        images["extended"],
        "--aml-sample",
        str(APPS.parents[2] / "examples/extend-prebuilt/samples/two-rows.json"),
    )
    green(result, "score[two-rows]", "entry-script")


def test_image_entry_script_missing_from_the_image(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-image",
        images["extended"],
        "--aml-command",
        "azmlinfsrv --entry_script /var/azureml-app/nothing-here.py --port 5001",
    )
    expect(result, failed=["entry-script", "liveness"], passed=["server"])
    result.stdout.fnmatch_lines_random(
        [
            "*entry-script: the entry script /var/azureml-app/nothing-here.py is not in the container*",
            "*liveness: importing the entry script failed: FileNotFoundError: *'/var/azureml-app/nothing-here.py'*",
        ]
    )


def test_swagger_schema_must_match_the_samples(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makefile(".json", rows='{"rows": [[1.0, 2.0]]}')
    result = run_plugin(
        "--aml-image",
        images["minimal"],
        "--aml-entry-script",
        str(APPS / "decorated" / "score.py"),
        "--aml-sample",
        "rows.json",
        "-k",
        "swagger",
    )
    expect(result, failed=["swagger"])
    result.stdout.fnmatch_lines(
        [
            "*swagger: the swagger's input schema does not match:",
            "sample rows has keys the input schema does not: rows",
        ]
    )
