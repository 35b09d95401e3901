"""The scoring server: waiting until it answers, and a small client for it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from pytest_amlimage.config.instance_types import shown_size
from pytest_amlimage.endpoint import diagnosis
from pytest_amlimage.endpoint.start_script import Runtime
from pytest_amlimage.endpoint.waiting import poll
from pytest_amlimage.engine import docker_engine
from pytest_amlimage.errors import CheckFailed, EngineLost, Unavailable

if TYPE_CHECKING:
    import requests

    from pytest_amlimage.config.deployment import Endpoint, Route
    from pytest_amlimage.engine.container import AmlContainer

POLL_INTERVAL = 0.02
STATE_EVERY = 0.2
LOG_TAIL = 100
CAUSE_WITHIN = 1.0  # seconds the log gets to say why a request failed
WORKERS_WITHIN = 60.0  # seconds the other workers get to finish init() after the first answered
WORKER_LOG = 2000  # lines of the log read for the workers' init() lines
DEAF_AFTER = 1.0  # seconds a probe's port stays silent, while the server answers on its own, before it is named


@dataclass(frozen=True)
class Sending:
    """How the checks send to the endpoint: its routes, probes and limits, and how long an answer may take
    here (``--aml-score-timeout``)."""

    endpoint: Endpoint
    timeout: float

    @property
    def route(self) -> Route:
        return self.endpoint.scoring_route


@dataclass(frozen=True)
class Readiness:
    """How waiting for ``GET /`` ended: ``error`` is None when the server answered 200."""

    seconds: float
    error: str | None = None
    engine_lost: bool = False  # the engine stopped answering: the run's cause, not the server's

    def failure(self, detailed: bool = True) -> CheckFailed:
        """The error as a check meets it: the engine lost is the run's cause; a server that never answered
        fails the check that says why (``detailed``: liveness) and is unavailable to the others."""
        kind = EngineLost if self.engine_lost else CheckFailed if detailed else Unavailable
        return kind(self.error or "")

    def raise_for_error(self) -> None:
        if self.error:
            raise self.failure()


def log_tail(container: AmlContainer, expect: str | None = None, within: float = 2.0) -> str:
    """The log's last lines; with ``expect``, give the server up to ``within`` s to write it (logs lag)."""

    def lines() -> str:
        return container.logs(tail=LOG_TAIL).rstrip()

    if expect:
        poll(lambda: expect in lines(), every=0.05, within=within)
    return "last lines of the container log:\n" + (lines() or "(empty)")


# what azureml-inference-server-http answers (its server/routes.py): a probe elsewhere gets 404
SERVER_ROUTES = "azureml-inference-server-http serves only GET /, GET /swagger.json and POST /score"
NOT_SERVED = (404, 405)  # the server is up, and says the route is not one of its own


def served_routes(endpoint: Endpoint) -> str | None:
    """The routes the image's server has, where they are known: azureml-inference-server-http's, unless
    the image runs a server of its own (a custom container, a template's own route)."""
    return None if endpoint.custom_container else SERVER_ROUTES


def _status(http: requests.Session, method: str, url: str, timeout: float) -> int | None:
    """The route's answer; None while nothing answers (a published port resets connections until the server
    listens)."""
    import requests

    try:
        return http.request(method, url, timeout=max(timeout, 0.05)).status_code
    except requests.RequestException:
        return None


def nothing_listens(name: str, route: Route, server: Route) -> str:
    """The first line when nothing listens on a probe's port while the server answers on its own."""
    where = f" ({route.origin})" if route.origin else ""
    return (
        f"the {name} probe's port {route.port}{where} has nothing listening, while the server listens on "
        f"port {server.port} (GET / answers there): {route.method} {route.path} never reaches it; set the "
        f"probe's port to {server.port}, or leave it out (it defaults to the scoring port)"
    )


def _deaf(http: requests.Session, container: AmlContainer, route: Route, server: Route) -> bool:
    """Nothing answers on the probe's port while the server answers ``GET /`` on its own, another one."""
    if route.port == server.port:
        return False
    probe, up = container.url(route.path, route.port), container.url("/", server.port)
    return (
        _status(http, route.method, probe, 1.0) is None
        and _status(http, "GET", up, 2.0) is not None
    )


def deaf_port(container: AmlContainer, name: str, route: Route, server: Route) -> str | None:
    """``nothing_listens`` when it is so, for a probe sent once the server is up."""
    import requests

    with requests.Session() as http:
        return (
            nothing_listens(name, route, server) if _deaf(http, container, route, server) else None
        )


def not_served(route: Route, status: int, served: str | None) -> str:
    """The first line when a probe's route is not one the running server serves."""
    routes = served or "the server answers GET / with 200"
    return (
        f"{route.shown} answered {status}, while the server is up (GET / answers 200): {routes}; "
        "point the probe's path at a route the server serves (path: /)"
    )


def wait_ready(
    container: AmlContainer,
    timeout: float,
    stop: threading.Event,
    route: Route,
    workers: int = 1,
    limit: str = "--aml-ready-timeout",
    served: str | None = SERVER_ROUTES,
    server: Route | None = None,
) -> Readiness:
    """Poll the liveness probe's route (its method, path and port) every 20 ms until 200, for ``timeout`` s
    (``limit`` says whose). Never raises.

    Stops at once when the container exits, when its log shows a failure the server cannot recover from or a
    restart (a crash loop under a supervisor), or when the server is up (``GET /`` answers 200) and says the
    route is not one of its own (404, 405): ``served`` names the routes it has, where they are known. Stops
    too when nothing has listened on the route's port for a second while ``server`` (the scoring route, on
    another port) answers.
    """
    started = time.monotonic()
    try:
        where = (route, server or route)
        return _poll(container, (timeout, limit), stop, started, where, workers, served)
    except Exception as error:  # the engine failed under us: report it, the checks show it
        if docker_engine.lost(error):
            return Readiness(
                time.monotonic() - started, docker_engine.lost_message(error), engine_lost=True
            )
        return Readiness(time.monotonic() - started, f"waiting for the server failed: {error}")


def _poll(
    container: AmlContainer,
    deadline: tuple[float, str],
    stop: threading.Event,
    started: float,
    where: tuple[Route, Route],
    workers: int,
    served: str | None = SERVER_ROUTES,
) -> Readiness:
    import requests

    (route, _), next_state, url = where, started, None
    status: int | None = None  # the route's last answer
    answered = started  # when the route last answered (or the wait began)
    with requests.Session() as http:
        while not stop.is_set():
            now = time.monotonic()
            # every 200 ms: has the container exited, or its log said why it cannot start?
            if now >= next_state:
                stuck = _cannot_answer(http, container, where, workers, now - answered)
                if stuck is None and status in NOT_SERVED and route.path != "/":
                    gone = status if _root_answers(http, container, route) else None
                    stuck = not_served(route, gone, served) if gone is not None else None
                if stuck is not None:
                    return Readiness(now - started, stuck)
                next_state, url = now + STATE_EVERY, url or container.url(route.path, route.port)
            remaining = deadline[0] - (now - started)
            if remaining <= 0:
                return Readiness(now - started, _timed_out(container, deadline, url or route.path))
            status = _status(http, route.method, url, min(2.0, remaining)) if url else None
            answered = answered if status is None else time.monotonic()
            if status == 200:
                return Readiness(time.monotonic() - started)
            stop.wait(POLL_INTERVAL)
    return Readiness(time.monotonic() - started, "the session ended before the server answered")


def _cannot_answer(
    http: requests.Session,
    container: AmlContainer,
    where: tuple[Route, Route],
    workers: int,
    silent: float,
) -> str | None:
    """Why the route will never answer, as the container shows it now: it was killed for memory or exited, its
    log shows a failure it cannot recover from, or nothing has listened on the route's port for ``silent``
    seconds while the server answers on its own."""
    route, server = where
    running, exit_code = container.state()
    # the container's own process; a worker's kill is in the log
    if container.oom_killed():
        return f"{out_of_memory(container)}\n{log_tail(container)}"
    if not running:
        return _exited(container, exit_code)
    hopeless = _hopeless(container, workers)
    if hopeless:
        return hopeless
    if silent >= DEAF_AFTER and _deaf(http, container, route, server):
        return nothing_listens("liveness", route, server)
    return None


def workers_started(container: AmlContainer, workers: int) -> None:
    """Wait, a minute at most, until the log shows every worker's init() done (the first one answered)."""

    def done() -> bool:
        return diagnosis.inits_done(container.logs(tail=WORKER_LOG)) >= workers

    poll(done, every=0.1, within=WORKERS_WITHIN)


def out_of_memory(container: AmlContainer) -> str:
    limit = shown_size(container.plan.memory)
    return (
        f"out of memory: the kernel killed a process in the container at its limit of {limit}: "
        "init() needs more than the instance type has (see the memory check)"
    )


def _root_answers(http: requests.Session, container: AmlContainer, route: Route) -> bool:
    """The server on the route's port is up: ``GET /`` answers 200 there."""
    return _status(http, "GET", container.url("/", route.port), 2.0) == 200


TRACEBACK_SETTLES = 0.5  # seconds a traceback the log shows only in part gets to be written whole


def cannot_come_up(container: AmlContainer, workers: int) -> str | None:
    """What the log already shows the server cannot recover from, while the container still runs: a kill for
    memory, a fatal cause, a restart (a supervisor restarting it). None while it may still come up."""
    log = container.logs(tail=LOG_TAIL * 4)
    if diagnosis.killed_for_memory(log):
        return out_of_memory(container)
    found = diagnosis.fatal(log, Runtime.of(container))
    if found is not None and diagnosis.UNREAD in found:  # the traceback may still be being written
        time.sleep(TRACEBACK_SETTLES)
        log = container.logs(tail=LOG_TAIL * 4)
        found = diagnosis.fatal(log, Runtime.of(container))
    return found or diagnosis.restarts(log, workers)


def _hopeless(container: AmlContainer, workers: int) -> str | None:
    """The cause the log shows, with why the wait stopped and the log's last lines."""
    found = cannot_come_up(container, workers)
    if found is None:
        return None
    return f"{found}\n(stopped waiting for GET /: the log shows the server cannot come up)\n{log_tail(container)}"


def stopped(exit_code: int | None, runit: bool) -> str:
    """Why the container ended, in words that never read as success (code 0 is a stop, not a pass)."""
    if exit_code == 0 and runit:
        return (
            "the container stopped before the server answered GET /: runsvdir ended (exit code 0) after a "
            "service's finish script stopped it, as a failing service's finish script does"
        )
    if exit_code == 0:
        return "the container's command ended (exit code 0) before the server answered GET /: nothing kept serving"
    return f"the container exited with code {exit_code} before the server answered GET /"


def _exited(container: AmlContainer, exit_code: int | None) -> str:
    found = diagnosis.cause(container.logs(tail=LOG_TAIL * 4), exit_code, Runtime.of(container))
    exited = stopped(exit_code, container.plan.runit)
    return (
        f"{found} ({exited})\n{log_tail(container)}"
        if found
        else f"{exited}\n{log_tail(container)}"
    )


def _timed_out(container: AmlContainer, deadline: tuple[float, str], url: str) -> str:
    log = container.logs(tail=LOG_TAIL * 4)
    found, (timeout, limit) = diagnosis.cause(log, runtime=Runtime.of(container)), deadline
    return (
        (f"{found}: " if found else "")
        + f"the server did not answer GET / with 200 within {timeout:g} s ({limit}; "
        f"awaited: GET {url})\n{log_tail(container)}\n"
        "Hint: a slow init() needs more time: make it faster, or raise liveness_probe.initial_delay or "
        "failure_threshold in the deployment YAML (--aml-ready-timeout only waits longer here); a server "
        "that keeps restarting shows its error above"
    )


class ScoringClient:
    """The ``aml_scoring`` fixture: ``url``, ``wait_ready()``, ``score(payload)``."""

    def __init__(
        self,
        container: AmlContainer,
        readiness: Callable[[], Readiness],
        score_timeout: float,
        route: Route,
    ) -> None:
        self.container = container
        self._readiness = readiness
        self.score_timeout = score_timeout
        self.route = route

    @property
    def url(self) -> str:
        return self.container.url("/", self.route.port)

    def wait_ready(self) -> None:
        self._readiness().raise_for_error()

    def score(self, payload: Any, content_type: str = "application/json") -> requests.Response:
        """POST ``payload`` (JSON-encoded unless bytes or str) to ``/score``."""
        import json

        import requests

        self.wait_ready()
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        return requests.post(
            self.container.url(self.route.path, self.route.port),
            data=body,
            headers={"Content-Type": content_type},
            timeout=self.score_timeout,
        )


MAX_BODY = 10 * 1024 * 1024
RUN_FAILED_HEADER = "x-ms-run-function-failed"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float = 0.0  # from sending the request to the last byte of the answer

    def json(self) -> Any:
        import json

        return json.loads(self.body)


def request(
    container: AmlContainer,
    method: str,
    route: Route,
    timeout: float,
    limit: str = "--aml-score-timeout",
    **kwargs: Any,
) -> Answer:
    """One HTTP request, its body capped at 10 MB; failures become ``CheckFailed`` naming ``limit``."""
    import requests

    path, started = route.path, time.perf_counter()
    try:
        url = container.url(path, route.port)
        with requests.request(method, url, timeout=timeout, stream=True, **kwargs) as reply:
            body = b""
            for chunk in reply.iter_content(65536):
                body += chunk
                if len(body) > MAX_BODY:
                    raise CheckFailed(
                        f"{method} {path}: the response is larger than {MAX_BODY // 2**20} MB"
                    )
            headers = {k.lower(): v for k, v in reply.headers.items()}
            return Answer(reply.status_code, headers, body, time.perf_counter() - started)
    except requests.Timeout:
        raise CheckFailed(
            f"{method} {path}: no answer within {timeout:g} s ({limit}); does run() hang?\n{log_tail(container)}"
        ) from None
    except requests.RequestException as error:
        why = failure_cause(container)
        failed = f"{method} {path} failed: {error}"
        raise CheckFailed(
            f"{why} ({failed})" if why else failed + f"\n{log_tail(container)}"
        ) from None


def failure_cause(
    container: AmlContainer, status: int | None = None, body: bytes = b""
) -> str | None:
    """Why a request failed, read from the log; gunicorn logs its worker's end a moment after the fact."""

    def cause() -> str | None:
        log = container.logs(tail=LOG_TAIL * 4)
        return diagnosis.scoring_cause(log, container.env, status, body)

    return poll(cause, every=0.1, within=CAUSE_WITHIN)


def post_sample(container: AmlContainer, body: bytes, timeout: float, route: Route) -> Answer:
    """``POST`` a JSON sample body to the scoring route."""
    return request(
        container, "POST", route, timeout, data=body, headers={"Content-Type": "application/json"}
    )
