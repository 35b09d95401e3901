"""The session's own bookkeeping: every container it starts is removed, even one still starting at the end."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from pytest_amlimage.config.settings import Settings
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.run import session as sessions
from pytest_amlimage.run.launch import plan_launch


class Started:
    def __init__(self) -> None:
        self.removed = False

    def remove(self) -> None:
        self.removed = True


def test_a_container_still_starting_when_the_run_ends_is_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    starting, release, started = threading.Event(), threading.Event(), Started()

    def slow_start(*args: Any, keep: Any) -> Started:
        starting.set()
        release.wait(5)
        keep(started)
        return started

    monkeypatch.setattr(sessions.containers, "start", slow_start)
    aml = sessions.AmlSession(Settings())
    aml.pool.submit(aml.start, plan_launch(Settings(), "img:1", ImageInfo()))
    assert starting.wait(5)
    # the engine answers while finish() is under way (Ctrl-C)
    threading.Timer(0.2, release.set).start()
    aml.finish()
    assert started.removed


def test_no_container_starts_once_the_run_is_ending() -> None:
    aml = sessions.AmlSession(Settings())
    aml.finish()
    with pytest.raises(RuntimeError, match="ending"):
        aml.start(plan_launch(Settings(), "img:1", ImageInfo()))


def test_each_image_is_judged_on_its_own_mlflow_scoring_script(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two images and one MLflow model: each image's mlflow-model check reads that image's script."""
    model = Path(__file__).resolve().parents[1] / "integration" / "mlflow_models" / "sklearn"
    scripts = {"old:1": "import mlflow", "new:2": "from azureml.ai.monitoring import Collector"}
    monkeypatch.setattr(sessions.docker_engine, "require_image", lambda client, ref: ImageInfo())
    monkeypatch.setattr(
        sessions.docker_engine,
        "read_file",
        lambda client, reference, path, labels: scripts[reference],
    )
    monkeypatch.setattr(
        sessions.model_env,
        "with_model_environment",
        lambda client, reference, *rest: (f"{reference}-model", None),
    )
    aml = sessions.AmlSession(Settings(images=tuple(scripts), mlflow_model=model))
    aml.client = object()  # type: ignore[assignment]
    runs = {reference: aml._under_test(reference, print) for reference in scripts}
    assert {ref: aml.context(run).serving_script for ref, run in runs.items()} == scripts
    aml.finish()
