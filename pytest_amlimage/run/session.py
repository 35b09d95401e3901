"""One test session: the engine, the images under test (``image.ImageRun``), cleanup at the end."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import posixpath
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pytest

from pytest_amlimage.checks.assemble import Context
from pytest_amlimage.config.mlflow import MlflowModel, UnusableExample
from pytest_amlimage.config.mlflow import read as read_mlflow_model
from pytest_amlimage.config.names import suffixed
from pytest_amlimage.config.platform import APP_ROOT
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint import samples
from pytest_amlimage.engine import build, docker_engine, dockerfile, model_env
from pytest_amlimage.engine import container as containers
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.errors import AmlUsageError
from pytest_amlimage.probe import snapshot as snapshots
from pytest_amlimage.run.image import ImageRun, Runner
from pytest_amlimage.run.launch import DEFAULT_CPUS, plan_launch, serving_itself

if TYPE_CHECKING:
    import docker

BUILD_TAG = "pytest-amlimage-build:latest"
BASELINE_CPU_SHARES = 256  # a quarter of the engine's default weight


def baseline_tag(tag: str) -> str:
    """Where --aml-rebase keeps the Dockerfile built as it is: the candidate's tag, suffixed."""
    return suffixed(tag, "baseline")


class AmlSession:
    """Owns the engine connection and every container of this pytest process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.docker_host = settings.docker_host
        self._previous_docker_host: str | None = None
        self.id = uuid.uuid4().hex
        self.started = time.time()
        self.stop = threading.Event()
        # 2 images x 3 tasks
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="amlimage")
        self.images: dict[str, ImageRun] = {}
        self.client: docker.DockerClient | None = None
        self.engine_cpus = DEFAULT_CPUS
        self.samples: list[samples.Sample] = []
        self.baseline: ImageRun | None = None
        self.built: ImageRun | None = None
        self.lock: dict[str, Any] | None = None
        self.start_early = False
        self._started: list[containers.AmlContainer] = []
        self._previous_sigterm: Any = None
        self._progress: Callable[[str], None] = print  # the terminal's, once begin() is given it

    def begin(self, progress: Callable[[str], None] = print, start_early: bool = False) -> None:
        """Connect, build if asked, check every image exists, clear leftovers; an engine lost meanwhile is one line."""
        self._progress = progress
        try:
            self._begin(progress, start_early)
        except Exception as error:
            if isinstance(error, pytest.UsageError) or not docker_engine.lost(error):
                raise
            raise AmlUsageError(docker_engine.lost_message(error)) from None

    def _begin(self, progress: Callable[[str], None], start_early: bool) -> None:
        """Connect, build if asked, check every image exists, and clear what crashed runs left behind.

        ``start_early``: this process runs the checks (no collect-only, no xdist), so the baseline's
        container starts as soon as its image exists, while the candidate builds and tests are collected,
        and the first image's starts before its checks are collected (the engine's start overlaps them).
        """
        self.start_early = start_early
        # what the user gave is read before anything starts; an MLflow model's example is one more
        self.samples = samples.load(self.settings.samples)
        if self.mlflow is not None and self.mlflow.example and self.settings.batch is None:
            self.samples.append(_input_example(self.mlflow))
        if self.settings.lock and not self.settings.lock_update:
            self.lock = snapshots.read_lock(self.settings.lock)
        self._use_engine()
        self.client = docker_engine.connect(self.docker_host)
        self.engine_cpus = float(self.client.info().get("NCPU") or DEFAULT_CPUS)
        if self.settings.build:
            self._build(progress)
        if self.settings.gpu:
            docker_engine.require_gpu(self.client, self.docker_host)
        docker_engine.remove_leftovers(self.client, self.id, self.started)
        for reference in self.settings.images:
            # keyed by the image given (run as the endpoint runs it)
            if reference not in self.images:
                self.images[reference] = self._under_test(reference, progress)
        if self.settings.baseline:
            reference = self.settings.baseline
            self.baseline = self._under_test(reference, progress, baseline=True)
            self._start_baseline()
        first = next(iter(self.images.values()), None)
        if self.start_early and first is not None and not first.build_error:
            self.pool.submit(first.container)  # a refusal is kept: its checks report it
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, _interrupt)

    def _under_test(
        self, reference: str, progress: Callable[[str], None], *, baseline: bool = False
    ) -> ImageRun:
        """``reference`` as the endpoint runs it: for an MLflow model, or a batch deployment's image with a conda
        file, with the environment made on it first (the baseline too, so that an upgrade of the curated image
        is compared model for model)."""
        info, model = self._image(reference), self.mlflow
        conda, adds = self._environment()
        if conda is None:
            return self._image_run(reference, info, baseline=baseline)
        assert self.client is not None
        script = None  # the image's own scoring script, for mlflow-model (a baseline has no checks)
        if model is not None and self.settings.batch is None and not baseline:
            path = posixpath.join(
                info.env.get("AML_APP_ROOT", APP_ROOT), info.env.get("AZUREML_ENTRY_SCRIPT", "")
            )
            script = docker_engine.read_file(self.client, reference, path, self.container_labels())
        tag, error = model_env.with_model_environment(
            self.client, reference, info, conda, progress, adds
        )
        built = ImageInfo() if error else self._image(tag)
        run = self._image_run(tag, built, baseline=baseline, build_error=error)
        run.serving_script = script
        return run

    def _environment(self) -> tuple[Path | None, str]:
        """The conda file the platform makes the environment from, and the distribution it adds: an MLflow
        model's (the server online, azureml-core in a batch job), or a batch deployment's own (nothing)."""
        model, batch = self.mlflow, self.settings.batch
        if model is not None and model.conda is not None:
            return model.conda, model_env.SERVER if batch is None else model_env.BATCH_MLFLOW
        if batch is not None and batch.conda_file is not None:
            return batch.conda_file, ""
        return None, ""

    @functools.cached_property
    def mlflow(self) -> MlflowModel | None:
        """The MLflow model served as a no-code deployment, read once."""
        path = self.settings.mlflow_model
        return read_mlflow_model(path) if path is not None else None

    def _build(self, progress: Callable[[str], None]) -> None:
        """Build the candidate (tagged as the first --aml-image, else BUILD_TAG); a failure becomes its check.

        With --aml-rebase: the Dockerfile as it is becomes the baseline, and the candidate is built on the new base.
        """
        settings, path = self.settings, self.settings.build
        assert self.client is not None and path is not None
        tag, args = settings.images[0] if settings.images else BUILD_TAG, dict(settings.build_args)
        rewritten, error = None, None
        if settings.rebase:
            baseline = baseline_tag(tag)
            error = build.build(self.client, path, baseline, args, settings.build_target, progress)
            info = ImageInfo() if error else self._image(baseline)
            self.baseline = self._image_run(baseline, info, baseline=True)
            if not error:
                self._start_baseline()
            rewritten, args = build.rebased(build.locate(path)[0], settings.rebase, args)
        error = error or build.build(
            self.client, path, tag, args, settings.build_target, progress, rewritten
        )
        assert self.dockerfile is not None
        built_on = settings.rebase or self.dockerfile.base
        if error or self._environment()[0] is None:
            info = ImageInfo() if error else self._image(tag)
            self.built = self._image_run(tag, info, build_error=error, built_on=built_on)
        else:  # the built image runs an MLflow model or a conda file: its environment is made on it
            self.built = self._under_test(tag, progress)
        self.images[tag] = self.built

    @functools.cached_property
    def runner(self) -> Runner:
        """What every image under test gets of this session (made once the engine is connected)."""
        samples = tuple(self.samples)
        return Runner(
            self.settings,
            self.start,
            self.pool,
            self.stop,
            self.client,
            self.container_labels,
            samples,
            engine_cpus=self.engine_cpus,
            progress=self._progress,
        )

    def _image_run(
        self,
        reference: str,
        info: ImageInfo,
        *,
        baseline: bool = False,
        build_error: str | None = None,
        built_on: str | None = None,
    ) -> ImageRun:
        """One image under test, with the plan the endpoint would start it by.

        The baseline is only compared against, while the candidate's readiness is measured against the probe
        budgets: when both boot on the same engine, the baseline yields the CPU (and starts with the
        candidate, as its companion).
        """
        plan = plan_launch(self.settings, reference, info, self.docker_host, self.engine_cpus)
        if baseline:
            plan = dataclasses.replace(plan, cpu_shares=BASELINE_CPU_SHARES)
        run = ImageRun(
            self.runner,
            reference,
            info,
            plan,
            build_error=build_error,
            built_on=built_on,
            companion=(lambda: None) if baseline else (lambda: self.baseline),
        )
        if not plan.serves and run.curated is not None and run.curated.serves_itself:
            run.plan = serving_itself(plan)  # decided before anything starts
        return run

    def _start_baseline(self) -> None:
        """Start the baseline's container in the background, now if ``start_early``, else with the candidate's."""
        if self.start_early and self.baseline is not None:
            self.pool.submit(self.baseline.container)  # a refusal is kept: its checks report it

    def _image(self, reference: str) -> ImageInfo:
        assert self.client is not None
        return docker_engine.require_image(self.client, reference)

    def context(self, image: ImageRun) -> Context:
        """What the checks of ``image`` are assembled from, beside the image itself."""
        built_from = self.dockerfile if image is self.built else None
        return Context(
            built_from,
            image.curated,
            tuple(self.samples),
            self.baseline,
            self.lock,
            self.mlflow,
            image.serving_script,
        )

    @functools.cached_property
    def dockerfile(self) -> dockerfile.Dockerfile | None:
        """The Dockerfile --aml-build builds, parsed once (its final stage, its build arguments applied)."""
        if self.settings.build is None:
            return None
        path, context = build.locate(self.settings.build)
        return dockerfile.parse(path, context, dict(self.settings.build_args))

    def container_labels(self) -> dict[str, str]:
        """The user's labels and this run's, which cleanup finds leftovers by: on every container it makes."""
        return {**dict(self.settings.labels), **docker_engine.run_labels(self.id, self.started)}

    def _use_engine(self) -> None:
        """An engine named by an option is DOCKER_HOST for the run: testcontainers, and the lost-engine message,
        read it there. ``finish`` puts the previous value back."""
        if self.docker_host and os.environ.get("DOCKER_HOST") != self.docker_host:
            self._previous_docker_host = os.environ.get("DOCKER_HOST", "")
            os.environ["DOCKER_HOST"] = self.docker_host

    def start(self, plan: containers.LaunchPlan) -> containers.AmlContainer:
        # the run is ending: a start queued in the pool would only be removed again
        if self.stop.is_set():
            raise RuntimeError("the test run is ending")
        return containers.start(
            plan,
            self.container_labels(),
            lambda wrapped: docker_engine.endpoint_host(
                self.docker_host, wrapped.get_container_host_ip
            ),
            # the list of that moment: finish() swaps it
            keep=lambda started: self._started.append(started),
        )

    def header(self) -> list[str]:
        where = self.docker_host or "local socket"
        version = self.client.version().get("Version", "?") if self.client else "?"
        return [f"amlimage: Docker {version} at {where}; images: {', '.join(self.settings.images)}"]

    def _remove_started(self) -> None:
        """Remove the containers started so far, together, on threads of their own (the pool may be stuck)."""
        started, self._started = self._started, []
        with ThreadPoolExecutor(max_workers=max(1, len(started))) as removing:
            list(removing.map(_remove_quietly, started))

    def finish(self) -> None:
        """Remove every container this session started; safe to call twice."""
        self.stop.set()
        self._remove_started()
        self.pool.shutdown(wait=True)  # a start still under way in the pool (Ctrl-C) ends here...
        self._remove_started()  # ...and its container goes too
        if (
            self.settings.rm_built
            and self.built is not None
            and self.client is not None
            and not self.built.build_error
        ):
            with contextlib.suppress(Exception):  # still used by another run: it stays
                self.client.images.remove(self.built.reference)
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None
        # an option named the engine: DOCKER_HOST as it was
        if self._previous_docker_host is not None:
            if self._previous_docker_host:
                os.environ["DOCKER_HOST"] = self._previous_docker_host
            else:
                os.environ.pop("DOCKER_HOST", None)
            self._previous_docker_host = None


def _input_example(model: MlflowModel) -> samples.Sample:
    """The model's input example as a sample; one the endpoint's format cannot be made from skips."""
    where = model.path / "MLmodel"
    try:
        return samples.Sample("input_example", where, model.example_request())
    except UnusableExample as unusable:
        return samples.Sample("input_example", where, b"", unusable=str(unusable))


def _remove_quietly(started: containers.AmlContainer) -> None:
    with contextlib.suppress(Exception):  # already gone: removed by hand, engine restarted
        started.remove()


def _interrupt(signum: int, frame: Any) -> None:
    """SIGTERM ends the run like Ctrl-C does, so pytest's cleanup (and ours) runs."""
    raise KeyboardInterrupt(f"signal {signum}")
