"""The built-in checks against the scoring server, held to the endpoint's probes and request limits."""

from __future__ import annotations

import json
import statistics
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING

from pytest_amlimage.checks.check import ConcurrencyFigures, ProbeFigures, attached
from pytest_amlimage.config.deployment import Route
from pytest_amlimage.endpoint import diagnosis
from pytest_amlimage.endpoint import swagger as swagger_document
from pytest_amlimage.endpoint.inside import Inside
from pytest_amlimage.endpoint.samples import (
    ENDPOINT_FORMAT,
    Sample,
    Tolerance,
    mlflow_format,
    require_same,
)
from pytest_amlimage.endpoint.scoring import (
    NOT_SERVED,
    RUN_FAILED_HEADER,
    Answer,
    Sending,
    deaf_port,
    failure_cause,
    log_tail,
    not_served,
    post_sample,
    request,
    served_routes,
)
from pytest_amlimage.errors import CheckFailed, NotApplicable, Unavailable

if TYPE_CHECKING:
    from pytest_amlimage.config.deployment import Endpoint
    from pytest_amlimage.endpoint.scoring import Readiness
    from pytest_amlimage.engine.container import AmlContainer

EXEC_HEADER = "x-ms-run-fn-exec-ms"
LOG_WINDOW = 2000  # lines of the log read for restarts
PROBES_UNDER_LOAD = 3
HEAD_START = 0.1  # seconds the scoring request gets to reach the server before the liveness probe


def _probe(container: AmlContainer, endpoint: Endpoint, readiness: bool = False) -> Answer:
    """What the platform's liveness (or readiness) probe sees: its method on its route, within its timeout."""
    probe, route, name = (
        (endpoint.readiness_probe, endpoint.readiness_route, "readiness")
        if readiness
        else (endpoint.liveness_probe, endpoint.liveness_route, "liveness")
    )
    deaf = deaf_port(container, name, route, endpoint.scoring_route)
    if deaf:
        raise CheckFailed(deaf)
    return request(
        container,
        route.method,
        route,
        probe.timeout,
        limit=f"the {name} probe's timeout, {probe.timeout:g} s",
    )


def liveness(container: AmlContainer, endpoint: Endpoint) -> None:
    _answers_200(_probe(container, endpoint), endpoint.liveness_route, endpoint)


def readiness(container: AmlContainer, endpoint: Endpoint) -> None:
    """The readiness probe, where it is not the liveness probe's route: 200 from its route too."""
    _answers_200(_probe(container, endpoint, readiness=True), endpoint.readiness_route, endpoint)


def _answers_200(answer: Answer, route: Route, endpoint: Endpoint) -> None:
    if answer.status in NOT_SERVED and route.path != "/":
        raise CheckFailed(not_served(route, answer.status, served_routes(endpoint)))
    if answer.status != 200:
        raise CheckFailed(
            f"{route.method} {route.path} answered {answer.status}, expected 200: {answer.body[:300]!r}"
        )


def probe_budget(readiness: Readiness, endpoint: Endpoint) -> ProbeFigures:
    """GET / answered within the liveness probe's budget (initial delay + period x failure threshold)."""
    probe = endpoint.liveness_probe
    if readiness.error:  # it never answered: liveness says why
        raise readiness.failure(detailed=False)
    figures = ProbeFigures(readiness.seconds, probe.budget)
    if readiness.seconds <= probe.budget:
        return figures
    with attached(figures):
        raise CheckFailed(
            f"GET / first answered 200 after {readiness.seconds:.1f} s, over the probe budget of "
            f"{probe.budget:g} s ({probe.shown}, from {endpoint.source}): the endpoint would restart the "
            "container. Make init() faster, or raise liveness_probe.initial_delay or failure_threshold in "
            "the deployment YAML"
        )


def _run_raised(answer: Answer) -> bool:
    """The server says run() raised (its header on the 500)."""
    return answer.headers.get(RUN_FAILED_HEADER, "").lower() == "true"


def _describe_failure(answer: Answer, container: AmlContainer) -> str:
    text = answer.body[:2000].decode("utf-8", "replace")
    if _run_raised(answer):
        log = log_tail(container, expect="Traceback")
        raised = diagnosis.user_exception(log) or "an exception (see the traceback below)"
        said, _, more = text.strip().partition("\n")
        return (
            f"run() raised {raised} (the server answered 500: {said})\n"
            + (f"{more}\n" if more else "")
            + log
        )
    answered = f"POST /score answered {answer.status}, expected 200: {text}\n{log_tail(container)}"
    why = failure_cause(container, answer.status, answer.body)
    return f"{why}\n{answered}" if why else answered


def _within_request_timeout(answer: Answer, endpoint: Endpoint) -> None:
    limit = endpoint.request_timeout_ms
    if answer.seconds * 1000 > limit:
        run_ms = answer.headers.get(EXEC_HEADER)
        inside = f" (run() itself: {run_ms} ms, by {EXEC_HEADER})" if run_ms else ""
        raise CheckFailed(
            f"POST /score took {answer.seconds * 1000:.0f} ms{inside}: the endpoint would answer 408 after "
            f"{limit} ms (request_settings.request_timeout_ms, from {endpoint.source}). "
            "Make run() faster, or raise request_timeout_ms (at most 180000)"
        )


def not_sent(why: str) -> None:
    """A sample that cannot be sent (an MLflow input example in no form the endpoint takes): a skip."""
    raise NotApplicable(why)


def score(
    container: AmlContainer, sample: Sample, sending: Sending, tolerance: Tolerance, *, mlflow: bool
) -> None:
    """The sample answers 200 within the request timeout, and equals its expected answer within tolerance;
    ``mlflow``: an MLflow model is served (a sample in MLflow's own format is named)."""
    answer = post_sample(container, sample.body, sending.timeout, sending.route)
    if answer.status != 200:
        own = mlflow_format(sample.body) if mlflow else None
        raise CheckFailed(
            f"{sample.path.name} is in MLflow's own {own!r} format, but the endpoint takes "
            f"{ENDPOINT_FORMAT}: the Azure ML scoring script reads input_data (answered "
            f"{answer.status})\n{_describe_failure(answer, container)}"
            if own
            else _describe_failure(answer, container)
        )
    _within_request_timeout(answer, sending.endpoint)
    if not sample.has_expected:
        return
    try:
        actual = answer.json()
    except ValueError:
        raise CheckFailed(
            f"the response is not JSON, so it cannot equal {sample.name}.expected.json: {answer.body[:300]!r}"
        ) from None
    within = f"rtol {tolerance.rtol:g}, atol {tolerance.atol:g}"
    heading = f"the response differs from {sample.path.name[:-5]}.expected.json ({within})"
    require_same(actual, sample.expected, tolerance, heading)


def liveness_under_load(container: AmlContainer, sample: Sample, sending: Sending) -> None:
    """While a sample is being scored, the liveness probe still answers within its timeout: probed while the
    score is under way, as the platform probes it (up to three times, so that a loaded machine's late start of
    the score cannot hide a busy server)."""
    endpoint = sending.endpoint
    probe = endpoint.liveness_probe
    with ThreadPoolExecutor(max_workers=1) as pool:
        busy = pool.submit(post_sample, container, sample.body, sending.timeout, sending.route)
        answer: Answer | None = None
        for _ in range(PROBES_UNDER_LOAD):
            # a score done by then never kept the server busy: no need to wait on
            wait([busy], timeout=HEAD_START)
            try:
                answer = _probe(container, endpoint)
            except CheckFailed:
                answer = None
            if busy.done() or answer is None or answer.status != 200:
                break
        scored = busy.result()
    if answer is None or answer.status != 200:
        seen = "no answer" if answer is None else f"{answer.status}"
        raise CheckFailed(
            f"while POST /score was busy ({scored.seconds:.1f} s), GET / gave {seen} within the liveness probe's "
            f"timeout of {probe.timeout:g} s: the endpoint would restart the container under load. The server "
            "runs one sync worker unless WORKER_COUNT says more: set WORKER_COUNT=2 (or more) in the deployment's "
            "environment_variables, or raise liveness_probe.timeout"
        )


def concurrency_level(endpoint: Endpoint, workers: int) -> int:
    """As many requests at once as the endpoint lets through, or the server has workers; at least 2."""
    return max(endpoint.max_concurrent_requests, workers, 2)


def concurrency(
    container: AmlContainer,
    sample: Sample,
    sending: Sending,
    count: int,
) -> ConcurrencyFigures | None:
    """``count`` requests sent at once all get 200: none fails, resets or times out."""
    start = threading.Barrier(count)

    def one() -> Answer:
        start.wait()
        return post_sample(container, sample.body, sending.timeout, sending.route)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(one) for _ in range(count)]
    problems = [str(f.exception()).splitlines()[0] for f in futures if f.exception() is not None]
    answers = [f.result() for f in futures if f.exception() is None]
    raised = [a for a in answers if a.status != 200 and _run_raised(a)]
    # run() raises for this sample whatever the load: score's cause, not the load's
    if len(raised) == count:
        described = _describe_failure(raised[0], container)
        raise Unavailable(f"{described.partition(chr(10))[0]}\nall {count} concurrent requests too")
    problems += [f"{a.status}: {a.body[:200]!r}" for a in answers if a.status != 200]
    times = sorted(1000 * a.seconds for a in answers)
    figures = (
        ConcurrencyFigures(count, statistics.median(times), times[-1 - len(times) // 20])
        if times
        else None
    )
    with attached(figures):
        if problems:
            raise CheckFailed(
                f"{len(problems)} of {count} concurrent requests failed:\n"
                + "\n".join(problems[:10])
            )
    return figures


def stable(container: AmlContainer, workers: int) -> None:
    """The server did not restart during the session (a crash loop can answer GET / between crashes)."""
    log = container.logs(tail=LOG_WINDOW)
    found = diagnosis.restarts(log, workers)
    if found:
        why = diagnosis.cause(log) or "the log below shows why"
        raise CheckFailed(f"{found} during the session: {why}\n{log_tail(container)}")


def bad_request(container: AmlContainer, sending: Sending) -> None:
    answer = request(
        container,
        "POST",
        sending.route,
        sending.timeout,
        data=b'{"data": [1, 2',
        headers={"Content-Type": "application/json"},
    )
    if answer.status < 400:
        raise CheckFailed(
            f"a malformed JSON body got {answer.status}; expected an error status (4xx or 5xx)"
        )
    after = _probe(container, sending.endpoint)
    if after.status != 200:
        raise CheckFailed(
            f"after a malformed request, GET / answered {after.status}\n{log_tail(container)}"
        )


def swagger(container: AmlContainer, samples: list[Sample], sending: Sending) -> None:
    scoring = sending.route
    answer = request(container, "GET", Route("/swagger.json", scoring.port), sending.timeout)
    if answer.status == 404:
        raise NotApplicable("the entry script declares no schema, so there is no swagger")
    if answer.status != 200:
        raise CheckFailed(f"GET /swagger.json answered {answer.status}: {answer.body[:300]!r}")
    try:
        document = answer.json()
    except ValueError:
        raise CheckFailed(f"GET /swagger.json is not JSON: {answer.body[:300]!r}") from None
    problems = ["it is not a JSON object"]
    if isinstance(document, dict):
        problems = swagger_document.shape_problems(document)
    if problems:
        raise CheckFailed("GET /swagger.json is not a valid document: " + "; ".join(problems))
    schema = swagger_document.input_schema(document)
    problems = swagger_document.sample_problems(schema, samples)
    if schema.get("properties") and "example" in schema:  # declared by inference-schema decorators
        example = json.dumps(schema["example"]).encode()
        scored = post_sample(container, example, sending.timeout, scoring)
        problems += (
            [f"the schema's own example is rejected: {scored.status}"]
            if scored.status != 200
            else []
        )
    if problems:
        raise CheckFailed("the swagger's input schema does not match:\n" + "\n".join(problems))


def offline(found: Inside) -> None:
    """With no network at all, the server came up and every sample scored 200."""
    host = diagnosis.unreached(found.log)
    why = (
        (f"{found.cause} (it could not reach {host})" if host else found.cause)
        if found.cause
        else diagnosis.network_cause(found.log) or "the log below shows why"
    )
    tail = "\n".join(found.log.splitlines()[-40:])
    if not found.ready:
        raise CheckFailed(
            f"with no network, the server never answered GET /: {why}. An endpoint without outbound access "
            f"(egress_public_network_access: disabled, or a managed network allowing only approved outbound) "
            f"cannot reach it either: put what init() downloads in the image or the model\n{tail}"
        )
    failed = {name: status for name, status in found.scores.items() if status != 200}
    if failed:
        shown = ", ".join(f"{name}: {status}" for name, status in sorted(failed.items()))
        raise CheckFailed(f"with no network, run() failed ({shown}): {why}\n{tail}")
