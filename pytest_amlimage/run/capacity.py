"""The capacity run of one image under test: for each instance type in scope, a container a worker count, sized
as the type, served as the endpoint would start it, and removed as soon as it is measured."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Callable, Protocol

from pytest_amlimage.config.instance_types import InstanceType
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint.capacity import Sweep, TypeCapacity, measure
from pytest_amlimage.endpoint.samples import Sample
from pytest_amlimage.endpoint.scoring import served_routes, wait_ready, workers_started
from pytest_amlimage.engine.container import AmlContainer, LaunchPlan
from pytest_amlimage.errors import NotApplicable


class Running(Protocol):
    """What the capacity run needs of the session (``image.Runner``)."""

    @property
    def start(self) -> Callable[[LaunchPlan], AmlContainer]: ...
    @property
    def stop(self) -> threading.Event: ...
    @property
    def samples(self) -> tuple[Sample, ...]: ...
    @property
    def engine_cpus(self) -> float: ...
    @property
    def progress(self) -> Callable[[str], None]: ...


@dataclass
class _Served:
    """A container of the capacity run, serving (or why not)."""

    container: AmlContainer
    url: str
    error: str | None
    cpus: float

    def cpu_seconds(self) -> float | None:
        return self.container.cpu_seconds()

    def peak_bytes(self) -> int | None:
        found = self.container.kernel_peak()
        return found.used if found is not None else None


def measure_capacity(
    settings: Settings, plan: LaunchPlan, runner: Running
) -> dict[str, TypeCapacity]:
    """Each instance type in scope, in turn (they share this machine's CPUs), the image started as ``plan``."""
    bodies = [sample.body for sample in runner.samples if sample.unusable is None]
    if not bodies:
        raise NotApplicable(
            "no sample to send: give --aml-sample (the load sends the samples in turn)"
        )
    if not settings.capacity_types:
        raise NotApplicable(
            "no instance type in scope: give --aml-instance-type (repeat it for several), or a deployment "
            "YAML's instance_type"
        )
    endpoint = settings.endpoint
    bound, _ = settings.latency_bound
    found = {}
    for instance in settings.capacity_types:
        cores = min(instance.vcpus, runner.engine_cpus)
        sweep = Sweep(
            partial(_serving, (settings, plan, runner), instance, cores),
            bound,
            endpoint.request_timeout_ms / 1000,
            settings.capacity_budget,
            runner.progress,
        )
        found[instance.name] = measure(instance, cores, sweep, bodies)
    return found


@contextlib.contextmanager
def _serving(
    run: tuple[Settings, LaunchPlan, Running], instance: InstanceType, cores: float, workers: int
) -> Iterator[_Served]:
    """The image with ``WORKER_COUNT=workers``, sized as ``instance``, once every worker's init() is done."""
    settings, image_plan, runner = run
    environment = {**image_plan.environment, "WORKER_COUNT": str(workers)}
    plan = dataclasses.replace(
        image_plan, environment=environment, memory=instance.memory_bytes, cpus=cores
    )
    container = runner.start(plan)
    try:
        endpoint = settings.endpoint
        route, scoring = endpoint.liveness_route, endpoint.scoring_route
        wait = (settings.ready_timeout, runner.stop, route, workers, "--aml-ready-timeout")
        ready = wait_ready(container, *wait, served_routes(endpoint), scoring)
        if ready.error is None:
            workers_started(container, workers)
        url = container.url(scoring.path, scoring.port)
        yield _Served(container, url, ready.error, cores)
    finally:
        with contextlib.suppress(Exception):  # gone already: the session's cleanup is quiet too
            container.remove()
