"""The server's swagger document: its shape, the /score input schema, and whether the samples fit it."""

from __future__ import annotations

import json
from typing import Any

from pytest_amlimage.endpoint.samples import Sample


def shape_problems(document: dict[str, Any]) -> list[str]:
    """What a swagger document lacks: a version, a /score path."""
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
    """Samples with top-level keys the declared input schema does not have, or lacking required keys at any depth.

    A required key missing inside (a record of ``data``, say) fails inference-schema's deserialization:
    the server answers 500 before ``run()`` is called.
    """
    properties = set(schema.get("properties") or {})
    if not properties:
        return []
    problems = []
    for sample in samples:
        body = json.loads(sample.body)
        unknown = ", ".join(sorted(set(body) - properties)) if isinstance(body, dict) else ""
        problems += (
            [f"sample {sample.name} has keys the input schema does not: {unknown}"]
            if unknown
            else []
        )
        for where, keys in _missing(schema, body, ""):
            problems.append(
                f"sample {sample.name}{f' at {where}' if where else ''} lacks required keys: {keys}"
            )
    return problems


def _missing(schema: dict[str, Any], value: Any, where: str) -> list[tuple[str, str]]:
    """(where, the required keys missing there), walking the schema's properties and items down the value."""
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [
            found
            for i, item in enumerate(value)
            for found in _missing(schema["items"], item, f"{where}[{i}]")
        ]
    if not isinstance(value, dict):
        return []
    keys = ", ".join(key for key in schema.get("required") or [] if key not in value)
    found = [(where, keys)] if keys else []
    for key, inner in (schema.get("properties") or {}).items():
        if key in value and isinstance(inner, dict):
            found += _missing(inner, value[key], f"{where}.{key}" if where else key)
    return found
