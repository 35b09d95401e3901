"""Rebasing a Dockerfile: through its own base ARG when it has one, else its final FROM rewritten."""

from __future__ import annotations

from pathlib import Path

from pytest_amlimage.engine.build import rebased
from pytest_amlimage.run.session import baseline_tag


def dockerfile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Dockerfile"
    path.write_text(text)
    return path


def test_the_dockerfiles_own_base_argument_is_used(tmp_path: Path) -> None:
    path = dockerfile(
        tmp_path,
        "ARG BASE_IMAGE=mcr.microsoft.com/azureml/a:1\nFROM ${BASE_IMAGE}\nUSER dockeruser\n",
    )
    assert rebased(path, "new:2", {"OTHER": "x"}) == (None, {"OTHER": "x", "BASE_IMAGE": "new:2"})


def test_otherwise_the_final_from_is_rewritten_keeping_its_stage_name(tmp_path: Path) -> None:
    text = "FROM python:3.11 AS build\nRUN true\n"
    text += "FROM --platform=linux/amd64 mcr.microsoft.com/azureml/a:1 AS final\nUSER dockeruser\n"
    rewritten, args = rebased(dockerfile(tmp_path, text), "new:2", {})
    assert (
        rewritten
        == "FROM python:3.11 AS build\nRUN true\nFROM --platform=linux/amd64 new:2 AS final\nUSER dockeruser\n"
    )
    assert args == {}


def test_the_baseline_is_tagged_beside_the_candidate() -> None:
    assert (
        baseline_tag("registry:5000/team/scoring:1.2") == "registry:5000/team/scoring:1.2-baseline"
    )
    assert baseline_tag("scoring") == "scoring:latest-baseline"
    assert baseline_tag("team/scoring:1.2@sha256:" + "a" * 64) == "team/scoring:1.2-baseline"
