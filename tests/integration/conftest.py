"""Real engine, real stand-in images. Without an engine these tests skip locally and fail under CI."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_amlimage.engine.client import PID_LABEL, PLUGIN_LABEL

ROOT = Path(__file__).resolve().parents[2]
APPS = Path(__file__).resolve().parent / "apps"
EXAMPLE = ROOT / "examples" / "extend-prebuilt"


def _standins_module() -> Any:
    spec = importlib.util.spec_from_file_location("standins", ROOT / "scripts" / "standins.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["standins"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def engine() -> Any:
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception as error:
        message = f"no Docker engine answers ({error}); run scripts/engine.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return client


@pytest.fixture(scope="session")
def images(engine: Any) -> dict[str, str]:
    """Every stand-in, built once (cached by content hash)."""
    module = _standins_module()
    return {name: module.ensure(engine, name) for name in module.STANDINS}


def our_containers(engine: Any) -> list[Any]:
    """Containers the plugin started from this process (in-process pytester runs) that still exist."""
    filters = {"label": [PLUGIN_LABEL, f"{PID_LABEL}={os.getpid()}"]}
    return list(engine.containers.list(all=True, filters=filters))


@pytest.fixture
def run_plugin(pytester: pytest.Pytester, engine: Any, images: dict[str, str]) -> Iterator[Any]:
    """Run pytest with the plugin in-process; afterwards, no container of ours may be left."""

    ini = pytester.makeini(
        "[pytest]\n"
    )  # keep this repository's own configuration out of the inner runs

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest(
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(pytester.path),
            "-c",
            str(ini),
            "-W",
            "ignore::pytest.PytestAssertRewriteWarning",
            *args,
        )

    yield run
    assert our_containers(engine) == []
