"""Hazards in the image's configuration: start-up traps, the platform it was built for."""

from __future__ import annotations

import pytest

from pytest_amlimage.checks.image_config import image_config
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.errors import CheckFailed

GOOD = ImageInfo(
    env={"PATH": "/usr/bin", "GPG_KEY": "7169605F62C751356D054A26821A82D5", "WORKER_COUNT": "2"}
)


def test_a_plain_image_passes() -> None:
    image_config(GOOD, {})
    image_config(ImageInfo(os="linux", architecture="amd64"), {"WORKER_COUNT": "4"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"WORKER_COUNT": "two"},
            "WORKER_COUNT='two' is not a whole number: the server stops at start",
        ),
        ({"SCORING_TIMEOUT_MS": "5s"}, "SCORING_TIMEOUT_MS='5s' is not a whole number"),
        (
            {"AZUREML_DEBUG_PORT": "5678"},
            "AZUREML_DEBUG_PORT is set: the server waits for a debugger",
        ),
        ({"SERVER_PORT": "8080"}, "SERVER_PORT is set, but the server ignores it"),
    ],
)
def test_each_hazard_is_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(CheckFailed, match=message.replace("(", r"\(").replace(")", r"\)")):
        image_config(ImageInfo(env=env), {})


def test_a_deployment_variable_that_breaks_the_server_counts() -> None:
    with pytest.raises(CheckFailed, match="WORKER_TIMEOUT='soon'"):
        image_config(GOOD, {"WORKER_TIMEOUT": "soon"})
    image_config(GOOD, {"API_KEY": "set at deployment time, where it belongs"})


def test_dynamic_install_variables_are_the_platform_checks_warning_not_a_failure_here() -> None:
    image_config(ImageInfo(env={"AZUREML_EXTRA_REQUIREMENTS_TXT": "extra.txt"}), {})


def test_an_arm_build_fails() -> None:
    with pytest.raises(
        CheckFailed, match="the image is linux/arm64, but online endpoints run linux/amd64"
    ):
        image_config(ImageInfo(os="linux", architecture="arm64"), {})
