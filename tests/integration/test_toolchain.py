"""The 2026 toolchain breaks no serving check sees, on real images: pip removed to quiet a scanner, and
setuptools 82 (no pkg_resources) beside an azureml-core that still imports it."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import APPS, NO_PIP, expect, run_built

pytestmark = pytest.mark.engine
WORKING = (
    f"--aml-entry-script={APPS / 'working' / 'score.py'}",
    f"--aml-model-dir={APPS / 'model'}",
)


def test_pip_removed_under_microsofts_start_script_fails_platform_and_liveness_names_it(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    dockerfile = f"FROM {images['nginx-runit']}\n{NO_PIP}"
    result = run_built(run_plugin, pytester, dockerfile, *WORKING, "-k", "platform or liveness")
    expect(result, failed=["platform", "liveness"])
    result.stdout.fnmatch_lines_random(
        [
            "*platform: pip is not in the serving environment, but the start needs it: "
            "/var/runit/gunicorn/run:* runs pip.*",
            "*liveness: pip is not in the image, so the start script's `pip show azureml-inference-server-http` "
            "finds nothing and it stops with exit code 100*",
        ]
    )


def test_pip_removed_where_the_start_needs_none_is_no_alarm(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    dockerfile = f"FROM {images['minimal']}\n{NO_PIP}"
    result = run_built(run_plugin, pytester, dockerfile, *WORKING, "-k", "platform or liveness")
    expect(result, passed=["platform", "liveness"])


def test_azureml_core_1_61_0_beside_setuptools_82_fails_platform_and_post2_passes(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    good = run_plugin("--aml-image", images["azureml-core"], *WORKING, "-k", "platform")
    # 1.61.0.post2 no longer imports pkg_resources (the v1 warning only)
    expect(good, passed=["platform"])
    dockerfile = f"FROM {images['azureml-core']}\nRUN pip install -q azureml-core==1.61.0\n"
    bad = run_built(run_plugin, pytester, dockerfile, *WORKING, "-k", "platform")
    expect(bad, failed=["platform"])
    bad.stdout.fnmatch_lines(
        [
            "*platform: azureml-core 1.61.0 imports pkg_resources as it loads (*/azureml/core/__init__.py:*), "
            "but setuptools * has no pkg_resources (setuptools 82.0.0 removed pkg_resources)*"
        ]
    )
