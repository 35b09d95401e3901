"""The platform's rules against real images: the SDKs installed as teams install them, and every good
stand-in green and silent."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import expect, run_built

pytestmark = pytest.mark.engine
V1, V2 = "azureml-core==1.61.0.post2", "azure-ai-ml==1.35.2"
WARNED = "*PytestWarning: platform: *"


def with_packages(run_plugin: Any, pytester: pytest.Pytester, base: str, *packages: str) -> Any:
    """The plugin's platform check on ``base`` with ``packages`` pip-installed (without their dependencies:
    the distributions are what the rules read)."""
    dockerfile = f"FROM {base}\nRUN pip install -q --no-deps {' '.join(packages)}\n"
    return run_built(run_plugin, pytester, dockerfile, "-k", "platform")


def test_both_sdks_fail_and_the_v1_sdk_alone_warns(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """On the stand-in with azureml-core installed as pip installs it (importable), azure-ai-ml beside it."""
    both = with_packages(run_plugin, pytester, images["azureml-core"], V2)
    expect(both, failed=["platform"])
    both.stdout.fnmatch_lines(
        [
            "*platform: azure-ai-ml 1.35.2 and azureml-core 1.61.0.post2 are both in the serving "
            "environment*"
        ]
    )
    alone = run_plugin("--aml-image", images["azureml-core"], "-k", "platform")
    expect(alone, passed=["platform"])
    alone.stdout.fnmatch_lines(
        ["*platform: azureml-core 1.61.0.post2 (the v1 SDK)*left support on 2026-06-30*"]
    )


def test_azureml_core_installed_without_its_dependencies_fails_with_its_import_error(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """pip install --no-deps leaves azureml.core unimportable: the import's own last line is the cause."""
    result = with_packages(run_plugin, pytester, images["minimal"], V1)
    expect(result, failed=["platform"])
    result.stdout.fnmatch_lines(
        [
            "*platform: azureml-core 1.61.0.post2 is installed but `import azureml.core` fails: "
            "ModuleNotFoundError: No module named *"
        ]
    )


@pytest.mark.parametrize(
    "standin", ["minimal", "minimal-py39", "minimal-py313", "extended", "nginx-runit", "gpu"]
)
def test_every_good_standin_passes_in_silence(
    run_plugin: Any, images: dict[str, str], standin: str
) -> None:
    result = run_plugin("--aml-image", images[standin], "-k", "platform")
    expect(result, passed=["platform"])
    result.stdout.no_fnmatch_line(WARNED)
