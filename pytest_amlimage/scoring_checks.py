"""The built-in checks against the scoring server: liveness, samples, bad requests, swagger."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from .errors import CheckFailed
from .samples import Sample, require_same
from .scoring import RUN_FAILED_HEADER, Answer, log_tail, post_sample, request

if TYPE_CHECKING:
    from .container import AmlContainer
    from .session import ImageRun
    from .settings import Settings

LIVENESS_TIMEOUT = 10.0


def serving(image: ImageRun, *, detailed: bool = False) -> AmlContainer:
    """The container once its server answers; skips when there is no entry script to serve."""
    if not image.plan.serves:
        from .session import NO_SERVER

        raise pytest.skip.Exception(NO_SERVER, _use_item_location=True)
    readiness = image.readiness()
    if readiness.error and not detailed:
        raise CheckFailed("the server never answered GET /; the liveness check of this image says why")
    readiness.raise_for_error()
    return image.container()


def liveness(image: ImageRun) -> None:
    container = serving(image, detailed=True)
    answer = request(container, "GET", "/", LIVENESS_TIMEOUT)
    if answer.status != 200:
        raise CheckFailed(f"GET / answered {answer.status}, expected 200: {answer.body[:300]!r}")


def _describe_failure(answer: Answer, container: AmlContainer) -> str:
    text = answer.body[:2000].decode("utf-8", "replace")
    if answer.headers.get(RUN_FAILED_HEADER, "").lower() == "true":
        return f"run() raised (500): {text}\n{log_tail(container, expect='Traceback')}"
    return f"POST /score answered {answer.status}, expected 200: {text}\n{log_tail(container)}"


def score(image: ImageRun, sample: Sample, settings: Settings) -> None:
    container = serving(image)
    answer = post_sample(container, sample.body, settings.score_timeout)
    if answer.status != 200:
        raise CheckFailed(_describe_failure(answer, container))
    if not sample.has_expected:
        return
    try:
        actual = answer.json()
    except ValueError:
        raise CheckFailed(
            f"the response is not JSON, so it cannot equal {sample.name}.expected.json: {answer.body[:300]!r}"
        ) from None
    tolerance = f"rtol {settings.rtol:g}, atol {settings.atol:g}"
    heading = f"the response differs from {sample.path.name[:-5]}.expected.json ({tolerance})"
    require_same(actual, sample.expected, settings, heading)


def bad_request(image: ImageRun, timeout: float) -> None:
    container = serving(image)
    answer = request(
        container, "POST", "/score", timeout, data=b'{"data": [1, 2', headers={"Content-Type": "application/json"}
    )
    if answer.status < 400:
        raise CheckFailed(f"a malformed JSON body got {answer.status}; expected an error status (4xx or 5xx)")
    after = request(container, "GET", "/", LIVENESS_TIMEOUT)
    if after.status != 200:
        raise CheckFailed(f"after a malformed request, GET / answered {after.status}\n{log_tail(container)}")


def _schema_problems(document: dict[str, Any]) -> list[str]:
    problems = []
    if not ({"swagger", "openapi"} & set(document)):
        problems.append("it names no 'swagger' or 'openapi' version")
    if "/score" not in (document.get("paths") or {}):
        problems.append("it has no /score path")
    return problems


def input_schema(document: dict[str, Any]) -> dict[str, Any]:
    """The /score request body's schema, $ref resolved (Swagger 2 or OpenAPI 3); {} when undeclared."""
    post = (document.get("paths") or {}).get("/score", {}).get("post", {})
    bodies = [p.get("schema", {}) for p in post.get("parameters", []) if p.get("in") == "body"]
    content = post.get("requestBody", {}).get("content", {}).get("application/json", {})
    schema: dict[str, Any] = (bodies or [content.get("schema", {})])[0]
    ref = str(schema.get("$ref", ""))
    if ref.startswith("#/"):
        node: Any = document
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = node if isinstance(node, dict) else {}
    return schema


def sample_problems(schema: dict[str, Any], samples: list[Sample]) -> list[str]:
    """Samples whose top-level keys the declared input schema does not have, or that lack required ones."""
    properties = set(schema.get("properties") or {})
    if not properties:
        return []
    problems = []
    for sample in samples:
        body = json.loads(sample.body)
        keys = set(body) if isinstance(body, dict) else set()
        unknown, missing = sorted(keys - properties), sorted(set(schema.get("required") or []) - keys)
        problems += (
            [f"sample {sample.name} has keys the input schema does not: {', '.join(unknown)}"] if unknown else []
        )
        problems += [f"sample {sample.name} lacks required keys: {', '.join(missing)}"] if missing else []
    return problems


def swagger(image: ImageRun, samples: list[Sample], timeout: float) -> None:
    container = serving(image)
    answer = request(container, "GET", "/swagger.json", LIVENESS_TIMEOUT)
    if answer.status == 404:
        raise pytest.skip.Exception(
            "the entry script declares no schema, so there is no swagger", _use_item_location=True
        )
    if answer.status != 200:
        raise CheckFailed(f"GET /swagger.json answered {answer.status}: {answer.body[:300]!r}")
    try:
        document = answer.json()
    except ValueError:
        raise CheckFailed(f"GET /swagger.json is not JSON: {answer.body[:300]!r}") from None
    problems = _schema_problems(document) if isinstance(document, dict) else ["it is not a JSON object"]
    if problems:
        raise CheckFailed("GET /swagger.json is not a valid document: " + "; ".join(problems))
    schema = input_schema(document)
    problems = sample_problems(schema, samples)
    if schema.get("properties") and "example" in schema:  # declared by inference-schema decorators
        example = json.dumps(schema["example"]).encode()
        scored = post_sample(container, example, timeout)
        problems += [f"the schema's own example is rejected: {scored.status}"] if scored.status != 200 else []
    if problems:
        raise CheckFailed("the swagger's input schema does not match:\n" + "\n".join(problems))

