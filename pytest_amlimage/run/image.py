"""One image under test: its launch plan, its container (started once), its facts, readiness and memory."""

from __future__ import annotations

import dataclasses
import functools
import shutil
import threading
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from pytest_amlimage.checks.assemble import wanted_imports
from pytest_amlimage.checks.check import FACT_PREFIX, IMAGE
from pytest_amlimage.config import catalog
from pytest_amlimage.config.names import file_safe
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint import batch as batch_job
from pytest_amlimage.endpoint import diagnosis
from pytest_amlimage.endpoint.capacity import TypeCapacity
from pytest_amlimage.endpoint.inside import Inside, serve_inside
from pytest_amlimage.endpoint.samples import Sample
from pytest_amlimage.endpoint.scoring import Readiness, served_routes, wait_ready, workers_started
from pytest_amlimage.engine import container as containers
from pytest_amlimage.engine import docker_engine, origin
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.engine.memory import Memory
from pytest_amlimage.errors import EngineLost, NotApplicable, Unavailable
from pytest_amlimage.probe import Facts, cuda, run_probe
from pytest_amlimage.probe import snapshot as snapshots
from pytest_amlimage.run.capacity import measure_capacity
from pytest_amlimage.run.memory import ContainerMemory

if TYPE_CHECKING:
    import docker

LOG_WINDOW = 2000  # lines of the log read for a worker's out-of-memory kill


@dataclass(frozen=True)
class Runner:
    """What an image under test needs of its session: the settings, how containers start and with which
    labels, where background work runs, the flag that the run is ending, the engine's client, the samples,
    and the engine lost's first report (shared by every image)."""

    settings: Settings
    start: Callable[[containers.LaunchPlan], containers.AmlContainer]
    pool: Executor
    stop: threading.Event
    client: docker.DockerClient | None = None
    labels: Callable[[], dict[str, str]] = dict
    samples: tuple[Sample, ...] = ()
    lost_reported: dict[str, str] = dataclasses.field(default_factory=dict)
    engine_cpus: float = 2.0  # the CPUs the engine has: a container gets no more
    progress: Callable[[str], None] = print  # a line while a long measurement is under way


class ImageRun:
    """One image under test: its inspect data, its container, its facts and readiness.

    ``plan``: how the endpoint would start it; ``built_on``: the base its Dockerfile names, when this run
    built it; ``companion``: the image whose container starts with this one's (the baseline's, for the
    candidate), looked up when the container starts.
    """

    def __init__(
        self,
        runner: Runner,
        reference: str,
        info: ImageInfo,
        plan: containers.LaunchPlan,
        *,
        build_error: str | None = None,
        built_on: str | None = None,
        companion: Callable[[], ImageRun | None] = lambda: None,
    ) -> None:
        self.runner, self.settings = runner, runner.settings
        self.reference, self.info, self.plan = reference, info, plan
        self.build_error, self._built_on, self._companion = build_error, built_on, companion
        self._lock = threading.Lock()
        self._container: containers.AmlContainer | None = None
        self._facts: Future[Facts] | None = None
        self._ready: Future[Readiness] | None = None
        # why the engine did not start it (raised anew each time)
        self._refused: Unavailable | None = None
        self._memory: ContainerMemory | None = None
        self._batch: Future[batch_job.BatchReport] | None = None
        # the last check of the scoring phases among those collected: the kernel's peak is read as it ends
        self.last_scoring: str | None = None
        # an MLflow image's own scoring script, as it holds it
        self.serving_script: str | None = None
        # a failure's first line -> the check that reported it first
        self.reported: dict[str, str] = {}

    def container(self) -> containers.AmlContainer:
        """The image's container, started once, on first use; probe and readiness start with it.

        When the engine refuses to start it, every check that needs it fails with that one line.
        """
        with self._lock:
            if self._refused is not None:
                raise type(self._refused)(*self._refused.args)
            if self._container is None:
                companion = self._companion()
                if companion is not None and companion is not self:  # the two start together
                    self.runner.pool.submit(companion.container)
                try:
                    self._container = self.runner.start(self.plan)
                except Exception as error:
                    refused = f"the engine refused to start {self.reference}: {docker_engine.reason(error)}"
                    lost = docker_engine.lost(error)
                    self._refused = (
                        EngineLost(docker_engine.lost_message(error))
                        if lost
                        else Unavailable(refused)
                    )
                    raise type(self._refused)(*self._refused.args) from None
                pool, stop = self.runner.pool, self.runner.stop
                watch = self._container.watch_memory()
                if any(report.suffix == ".md" for report in self.settings.reports):
                    watch.follow()  # the Markdown report's chart: the stats, sampled every second
                self._memory = ContainerMemory(self._container, watch, pool)
                variables = self.plan.probe_environment
                self._facts = pool.submit(
                    run_probe, self._container, self.wanted_imports, variables
                )
                if self.settings.batch is not None:  # the job runs beside the probe
                    self._batch = pool.submit(self._batch_job)

                if self.plan.serves and not self.plan.unreachable:
                    settings = self.settings
                    endpoint = settings.endpoint
                    route, workers = endpoint.liveness_route, endpoint.workers(self.info.env)
                    limit, served = _ready_limit(settings), served_routes(endpoint)
                    server = endpoint.scoring_route
                    wait = (settings.ready_timeout, stop, route, workers, limit, served, server)
                    self._ready = pool.submit(wait_ready, self._container, *wait)
                    self._ready.add_done_callback(lambda _: self._mark("checks"))
                    self._memory.after_init(self._workers_started)
            return self._container

    def facts(self) -> Facts:
        self.container()
        return self._settled_facts

    @functools.cached_property
    def _settled_facts(self) -> Facts:
        """The probe's facts, or the aside probe's when the container died under the probe: decided once."""
        assert self._facts is not None
        try:
            facts = self._facts.result()
        except Exception:  # the server died and took the container with it, before the probe ran
            return self._facts_aside
        if facts.python_error and (facts.killed or not self._still_running()):
            # the engine may report the container running a moment after its end
            return self._facts_aside
        return facts

    def _still_running(self) -> bool:
        try:
            return self._container is not None and self._container.state()[0]
        except Exception:  # already removed
            return False

    @functools.cached_property
    def _facts_aside(self) -> Facts:
        """The probe in a container of its own, kept alive: the facts of an image whose server exits at once."""
        entrypoint, command = containers.KEEP_ALIVE
        plan = dataclasses.replace(self.plan, serves=False, entrypoint=entrypoint, command=command)
        try:
            aside = self.runner.start(plan)
            return run_probe(aside, self.wanted_imports, plan.probe_environment)
        except Exception as error:
            if docker_engine.lost(error):
                raise EngineLost(docker_engine.lost_message(error)) from None
            return Facts(uid=None, python_error=f"the probe could not run: {error}")

    @functools.cached_property
    def gpu(self) -> dict[str, cuda.Resolution]:
        """CUDA and cuDNN, each resolved once from the probe's evidence."""
        evidence = self.facts().gpu_evidence
        return {library: cuda.resolve(evidence, library) for library in cuda.LIBRARIES}

    @functools.cached_property
    def history(self) -> tuple[str, ...]:
        """What made each step of the image, oldest first (one call to the engine's API, no container)."""
        client = self.runner.client
        return tuple(docker_engine.history(client, self.reference)) if client is not None else ()

    @functools.cached_property
    def curated(self) -> catalog.CatalogEntry | None:
        """The curated row the image is held to: the one named, or with ``auto`` the one it was built from."""
        named, client = self.settings.curated, self.runner.client
        if named is None or named.lower() != "auto":
            return catalog.find(named) if named else None
        assert client is not None
        return origin.curated_row(self.reference, self.info, client, self.runner.labels())

    @functools.cached_property
    def wanted_imports(self) -> list[str]:
        """The distributions the probe imports: those the version checks are about."""
        return wanted_imports(self.settings, self.curated)

    @functools.cached_property
    def base(self) -> origin.Base | None:
        """The base this image was built from, and its date (see ``origin.base_of``), found once."""
        information = lambda: self.facts().image_information  # noqa: E731
        return origin.base_of(self.info, self._built_on, information, self.runner.client)

    @functools.cached_property
    def snapshot(self) -> dict[str, Any]:
        """The environment as compared against a baseline or lock (see ``probe.snapshot``), computed once."""
        return snapshots.snapshot(
            self.facts(), self.info, self.gpu["cuda"].version, self.gpu["cudnn"].version
        )

    def properties(self) -> list[tuple[str, object]]:
        """JSON-safe facts for JUnit XML: reference, digest, Python, frameworks, CUDA."""
        fact = FACT_PREFIX
        found: list[tuple[str, object]] = [
            (IMAGE, self.reference),
            (f"{fact}image_id", self.info.id),
        ]
        found += [(f"{fact}digest", self.info.digests[0])] if self.info.digests else []
        if self._facts is not None and self._facts.done():
            # what the checks saw: the aside probe's when the first one died (none, when the engine went)
            try:
                facts = self._settled_facts
            except Unavailable:
                return found
            found.append((f"{fact}python", facts.python_version or ""))
            found.append((f"{fact}python_executable", facts.python_executable or ""))
            found += (
                [(f"{fact}python_on_path", facts.python_on_path)] if facts.python_on_path else []
            )
            found += [
                (f"{fact}{m}", r.get("version", "")) for m, r in sorted(facts.frameworks.items())
            ]
            found += [(f"{fact}{n}", r.version or "none") for n, r in self.gpu.items()]
        return found

    def readiness(self) -> Readiness:
        self.container()
        if self._ready is None:
            return Readiness(0.0, self.plan.unreachable or self.plan.idle or NO_SERVER)
        return self._ready.result()

    def memory(self) -> Memory:
        """The container's memory: the kernel's peak after start-up and after scoring, and its kills for want
        of memory, where it can be read; else the engine's stats (a fresh reading waited for), the container's
        state and the log's worker kills."""
        container, memory = self.container(), self._memory
        assert memory is not None
        exact = memory.exact()
        if exact is not None:
            return exact
        # no counter to read (or nothing served): the stats, sampled
        self._workers_started()
        return memory.sampled(diagnosis.killed_for_memory(container.logs(tail=LOG_WINDOW)))

    def _workers_started(self) -> bool:
        """Wait (a minute at most) until every worker's init() is done, once the server answers; False when
        it never answered."""
        if not self.plan.serves or self.plan.unreachable or self._container is None:
            return False
        if self.readiness().error:
            return False
        workers_started(self._container, self.settings.endpoint.workers(self.info.env))
        return True

    @property
    def batch(self) -> batch_job.BatchReport:
        """The batch job, started with the container (beside the probe) and run once."""
        self.container()
        assert self._batch is not None
        return self._batch.result()

    def _batch_job(self) -> batch_job.BatchReport:
        """Our driver in the container, its outputs copied to this machine, the kernel's peak read as it ends."""
        settings, spec, container = self.settings, self.settings.batch, self.container()
        assert spec is not None and settings.batch_input is not None
        script = self.plan.script_at if settings.entry_script else None
        model = self.plan.model_at if settings.mlflow_model else None
        config = batch_job.configuration(spec, settings.batch_input, script, model)
        outputs = None
        if settings.batch_outputs is not None:
            outputs = settings.batch_outputs / file_safe(self.reference)
            # this run's outputs, none of an earlier one's
            shutil.rmtree(outputs, ignore_errors=True)
        self._mark("batch")
        report = batch_job.run_batch(container, spec, config, outputs)
        assert self._memory is not None
        return dataclasses.replace(report, oom_kills=self._memory.batch_ended())

    @property
    def batch_ended(self) -> batch_job.BatchReport | None:
        """The batch job's report, once it ran (in this process)."""
        job = self._batch
        if job is None or not job.done() or job.exception() is not None:
            return None
        return job.result()

    def batch_memory(self) -> Memory:
        """The batch job's memory: the kernel's peak as it ended, else the engine's stats."""
        self.batch  # noqa: B018 - the job ended
        assert self._memory is not None
        return self._memory.batch()

    @functools.cached_property
    def offline(self) -> Inside:
        """The image started again with no network at all, served and scored from inside (one more container)."""
        plan = dataclasses.replace(self.plan, network="none")
        settings, python = self.settings, self.facts().python_executable or "python3"
        route = settings.endpoint.scoring_route
        bodies = {sample.name: sample.body for sample in self.runner.samples}
        timeouts, workers = (
            (settings.ready_timeout, settings.score_timeout),
            settings.endpoint.workers(self.info.env),
        )
        container = self.runner.start(plan)
        return serve_inside(container, python, (route.port, route.path), timeouts, bodies, workers)

    @functools.cached_property
    def capacity(self) -> dict[str, TypeCapacity]:
        """How much the image serves on each instance type in scope (more containers, one a worker count)."""
        return measure_capacity(self.settings, self.plan, self.runner)

    def enter(self, check: str) -> None:
        """``check`` starts: the memory readings from now on belong to its phase (once the server is up)."""
        if self._memory is not None and (self._ready is None or self._ready.done()):
            self._memory.enter(check)

    def leave(self, check: str) -> None:
        """``check`` ended: after the last scoring check, the kernel's peak is read at once, in the
        background, so that ``memory`` finds it done."""
        if check == self.last_scoring and self._memory is not None:
            self._memory.after_scoring()

    def _mark(self, phase: str) -> None:
        if self._memory is not None:
            self._memory.mark(phase)

    def serving_readiness(self) -> Readiness:
        """How the server came up; a skip when the image has nothing to serve."""
        if not self.plan.serves:
            raise NotApplicable(self.plan.idle or NO_SERVER)
        return self.readiness()

    def serving(self, *, detailed: bool = False) -> containers.AmlContainer:
        """The container once its server answers; a skip when there is nothing to serve.

        A server that never answered is ``Unavailable``: liveness (``detailed``) fails with the cause,
        and every other check that needs the server skips, pointing at it.
        """
        readiness = self.serving_readiness()
        if readiness.error:
            raise readiness.failure(detailed)
        return self.container()


NO_SERVER = (
    "no entry script: the image sets no AZUREML_ENTRY_SCRIPT and its command no azmlinfsrv --entry_script; "
    "bake one in (ENV AZUREML_ENTRY_SCRIPT=score.py), pass --aml-entry-script path/score.py, or describe a "
    "server of its own with --aml-deployment (inference_config)"
)


def _ready_limit(settings: Settings) -> str:
    """Whose limit the wait for GET / is: --aml-ready-timeout's, or the liveness probe's budget."""
    probe = settings.endpoint.liveness_probe
    if settings.ready_timeout != probe.budget:
        return "--aml-ready-timeout"
    return f"the liveness probe's budget: {probe.shown}, from {settings.endpoint.source}"
