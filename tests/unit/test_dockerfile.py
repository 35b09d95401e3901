"""Static Dockerfile checks: the last USER, entry paths the Dockerfile copies, the base image."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amlimage.checks import dockerfile
from pytest_amlimage.engine import dockerfile as parsing
from pytest_amlimage.engine.container import ExecResult
from pytest_amlimage.errors import CheckFailed

BASE = "FROM mcr.microsoft.com/azureml/minimal-ubuntu22.04-py39-cpu-inference:latest\n"


def parse(
    tmp_path: Path, text: str, build_args: dict[str, str] | None = None
) -> parsing.Dockerfile:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    (tmp_path / "code").mkdir(exist_ok=True)
    (tmp_path / "code" / "score.py").write_text("def init(): pass\ndef run(data): return data\n")
    (tmp_path / "model").mkdir(exist_ok=True)
    (tmp_path / "model" / "weights.json").write_text("{}")
    return parsing.parse(path, tmp_path, build_args or {})


def test_root_left_as_the_last_user_names_the_line(tmp_path: Path) -> None:
    parsed = parse(tmp_path, BASE + "USER root:root\nRUN apt-get update\n")
    with pytest.raises(
        CheckFailed, match=r"Dockerfile:2: the last USER is 'root:root'; add `USER dockeruser`"
    ):
        dockerfile.last_user(parsed)
    dockerfile.last_user(parse(tmp_path, BASE + "USER root\nRUN true\nUSER dockeruser\n"))
    dockerfile.last_user(parse(tmp_path, BASE + "RUN true\n"))  # inherits the base's user


def test_only_the_final_stage_counts(tmp_path: Path) -> None:
    parsed = parse(tmp_path, "FROM debian AS build\nUSER root\n" + BASE + "USER dockeruser\n")
    dockerfile.last_user(parsed)


def test_entry_paths_must_be_copied_in(tmp_path: Path) -> None:
    good = BASE + (
        "COPY code /var/azureml-app\nENV AZUREML_ENTRY_SCRIPT=score.py\n"
        "COPY model /var/azureml-app/azureml-models\nENV AZUREML_MODEL_DIR=/var/azureml-app/azureml-models\n"
    )
    dockerfile.entry_paths(parse(tmp_path, good))
    bad = (
        BASE
        + "COPY code /var/azureml-app\nENV AZUREML_ENTRY_SCRIPT=main.py AZUREML_MODEL_DIR=/models\n"
    )
    with pytest.raises(CheckFailed) as error:
        dockerfile.entry_paths(parse(tmp_path, bad))
    assert "AZUREML_ENTRY_SCRIPT=main.py (/var/azureml-app/main.py) is not among the files" in str(
        error.value
    )
    assert "AZUREML_MODEL_DIR=/models receives no file from a COPY" in str(error.value)


class Built:
    """A built image that has the files named, answering the check's one exec as sh would."""

    def __init__(self, *present: str) -> None:
        self.present = present
        self.asked: list[list[str]] = []

    def exec(self, command: list[str]) -> ExecResult:
        self.asked.append(command)
        return ExecResult(0, "".join(f"{path}\n" for path in command[4:] if path in self.present))


def test_the_built_image_is_the_witness_of_what_a_run_step_made(tmp_path: Path) -> None:
    """A model written by RUN (or downloaded) gets no COPY, but the image has it: no failure."""
    made = BASE + (
        "COPY code /var/azureml-app\nENV AZUREML_ENTRY_SCRIPT=score.py\n"
        "RUN mkdir -p /var/azureml-app/azureml-models && echo {} > /var/azureml-app/azureml-models/m.json\n"
        "ENV AZUREML_MODEL_DIR=/var/azureml-app/azureml-models\n"
    )
    built = Built("/var/azureml-app/azureml-models")
    dockerfile.entry_paths(parse(tmp_path, made), built)  # type: ignore[arg-type]
    # asked only of the doubtful path
    assert built.asked[0][4:] == ["/var/azureml-app/azureml-models"]
    with pytest.raises(
        CheckFailed, match="receives no file from a COPY, and the built image has nothing there"
    ):
        dockerfile.entry_paths(parse(tmp_path, made), Built())  # type: ignore[arg-type]
    correct = Built()
    dockerfile.entry_paths(
        parse(tmp_path, BASE + "COPY code /var/azureml-app\nENV AZUREML_ENTRY_SCRIPT=score.py\n"),
        correct,
    )  # type: ignore[arg-type]
    assert correct.asked == []  # nothing in doubt: no exec


def test_base_image_must_be_azure_mls_unless_allowed(tmp_path: Path) -> None:
    dockerfile.base_image(parse(tmp_path, BASE), any_base=False)
    foreign = parse(tmp_path, "ARG BASE=python:3.11\nFROM ${BASE}\n")
    with pytest.raises(
        CheckFailed, match=r"Dockerfile:2: FROM python:3.11 is not an Azure ML inference image"
    ):
        dockerfile.base_image(foreign, any_base=False)
    dockerfile.base_image(foreign, any_base=True)
    arg = parse(
        tmp_path, "ARG BASE=python:3.11\nFROM ${BASE}\n", {"BASE": "mcr.microsoft.com/azureml/x:1"}
    )
    dockerfile.base_image(arg, any_base=False)
