"""--aml-build and the static Dockerfile checks, on real builds."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import EXAMPLE, expect, green

pytestmark = pytest.mark.engine


def test_build_then_test_the_example(run_plugin: Any, engine: Any, images: dict[str, str]) -> None:
    tag = "amlimage/test-build-example:1"
    result = run_plugin(
        "--aml-build",
        str(EXAMPLE),
        "--aml-build-arg",
        f"BASE_IMAGE={images['minimal']}",
        "--aml-image",
        tag,
        "--aml-any-base",
        "--aml-rm-built",
        "-rA",
    )
    green(result, "dockerfile[last-user]", "dockerfile[entry-paths]", "base-age", "liveness")
    result.stdout.fnmatch_lines([f"amlimage: building {tag}: Step 9/9 : ENV AZUREML_MODEL_DIR=*"])
    assert engine.images.list(name=tag) == []  # --aml-rm-built


def test_dockerfile_mistakes_have_line_numbers(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makefile(
        "",
        Dockerfile=(
            f"FROM {images['minimal']}\nUSER root:root\nRUN true\nCOPY code /var/azureml-app\n"
            "ENV AZUREML_ENTRY_SCRIPT=main.py\nENV AZUREML_MODEL_DIR=/var/azureml-app/azureml-models\n"
        ),
    )
    (pytester.path / "code").mkdir()
    (pytester.path / "code" / "score.py").write_text("def init():\n    pass\n")
    result = run_plugin(
        "--aml-build",
        "Dockerfile",
        "--aml-image",
        "amlimage/test-build-mistakes:1",
        "--aml-rm-built",
        "-k",
        "dockerfile or non-root",
    )
    dockerfile = ["dockerfile[last-user]", "dockerfile[entry-paths]", "dockerfile[base-image]"]
    expect(result, failed=[*dockerfile, "non-root"])
    result.stdout.fnmatch_lines_random(
        [
            "*dockerfile?last-user?: Dockerfile:2: the last USER is 'root:root'; add `USER dockeruser` after *",
            "*dockerfile?entry-paths?: Dockerfile: AZUREML_ENTRY_SCRIPT=main.py (/var/azureml-app/main.py) is not *",
            "AZUREML_MODEL_DIR=/var/azureml-app/azureml-models receives no file from a COPY, and the built "
            "image has nothing there",
            f"*dockerfile?base-image?: Dockerfile:1: FROM {images['minimal']} is not an Azure ML inference image*",
        ]
    )


def test_failing_build_shows_the_step_and_its_output(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makefile(
        "", Dockerfile=f"FROM {images['minimal']}\nRUN echo compiling-the-model && exit 3\n"
    )
    result = run_plugin("--aml-build", ".", "--aml-any-base")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "*build: building pytest-amlimage-build:latest failed at Step 2/2 : RUN echo compiling-the-model*",
            "*returned a non-zero code: 3*",
        ]
    )
    result.stdout.fnmatch_lines(["compiling-the-model"])


def test_a_base_older_than_six_months_fails_base_age(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], engine: Any
) -> None:
    """Prebuilt images are tagged YYYYMMDD.vN; a base tagged like one from January 2025 is past the limit."""
    old_base = "amlimage/minimal:20250101.v1"
    engine.images.get(images["minimal"]).tag("amlimage/minimal", "20250101.v1")
    try:
        args = (
            f"--aml-build={EXAMPLE}",
            "--aml-build-arg",
            f"BASE_IMAGE={old_base}",
            "--aml-any-base",
        )
        result = run_plugin(*args, "-k", "base-age", "--aml-report=report.md")
        expect(result, failed=["base-age"])
        result.stdout.fnmatch_lines(
            [
                f"*base-age: the base {old_base} is from 2025-01-01 (its tag): * days old, over the limit of 183*",
                "*amlimage: endpoint*",
                f"*: base {old_base} from 2025-01-01 (* days old), over the 183 days Azure ML supports: rebase it*",
            ]
        )
        markdown = (pytester.path / "report.md").read_text()
        assert f"**Warning:** base {old_base} from 2025-01-01" in markdown
        expect(run_plugin(*args, "-k", "base-age", "--aml-max-base-age=0"), passed=["base-age"])
    finally:
        engine.images.remove(old_base)
