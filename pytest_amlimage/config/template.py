"""A deployment template (preview since 2026-05-12): a registry-scoped, versioned, immutable YAML that bundles how a
model is deployed to a managed online endpoint, read as a deployment the plugin runs.

Sources: MicrosoftDocs/azure-ai-docs ``articles/machine-learning/`` ``concept-deployment-template.md``,
``how-to-manage-models-deployment-templates.md`` and ``reference-yaml-deployment-template.md``. A template is told
apart by its ``$schema`` (``deploymentTemplate.schema.json``) or its ``deployment_template_type``. What the
platform refuses is refused here, with its line: a workspace or inline environment (a registry reference only),
a type other than ``Managed``, a default instance type outside the allowed ones, a probe scheme other than
http. The instance list is read in each spelling the documents use (``allowed_instance_types`` in the how-to
and the SDK, ``allowed_instance_type`` in the reference, ``allowedInstanceType`` in REST).
"""

from __future__ import annotations

from pytest_amlimage.config import instance_types
from pytest_amlimage.config.deployment import (
    ALLOWED_KEYS,
    Deployment,
    Endpoint,
    Reader,
    Route,
)
from pytest_amlimage.config.platform import SERVER_PORT
from pytest_amlimage.config.yamlfile import Table

SCHEMA = "deploymenttemplate.schema.json"
REGISTRY = "azureml://registries/"
# azureml-inference-server-http's scoring route: a template naming another runs its own server
SERVER_ROUTE = ("/score", SERVER_PORT)


def is_template(data: Table) -> bool:
    return SCHEMA in str(data.get("$schema", "")).lower() or "deployment_template_type" in data


def read(reader: Reader, data: Table, port: int) -> Deployment:
    """The template as a deployment: its environment variables, probes (path, port, method), scoring route,
    request settings and model mount path applied as a deployment YAML's are."""
    _refusals(reader, data)
    scoring_path = reader.text(data, ("scoring_path",)) or "/score"
    scoring_port = int(reader.number(data, ("scoring_port",), port))
    scoring = Route(scoring_path, scoring_port, "POST")
    request_timeout, concurrency = reader.requests(data)
    endpoint = Endpoint(
        source=f"deployment template {reader.path}",
        liveness_route=_probe_route(reader, data, "liveness_probe", scoring),
        readiness_route=_probe_route(reader, data, "readiness_probe", scoring),
        scoring_route=scoring,
        liveness_probe=reader.probe(data, "liveness_probe"),
        readiness_probe=reader.probe(data, "readiness_probe"),
        request_timeout_ms=request_timeout,
        max_concurrent_requests=concurrency,
        environment=reader.variables(data),
        model_mount_path=reader.text(data, ("model_mount_path",)),
        instance_type=reader.text(data, ("default_instance_type",)),
        custom_container=(scoring_path, scoring_port) != SERVER_ROUTE,
    )
    allowed = _allowed(reader, data)
    # measured once, on the largest allowed type's resources; then each allowed type is judged
    options: dict[str, str | int] = {}
    largest = _largest(allowed) or endpoint.instance_type
    if largest:
        options["instance_type"] = largest
    return Deployment(
        reader.path, endpoint, options, data, reader.lines, allowed, "deployment template"
    )


def _probe_route(reader: Reader, data: Table, name: str, scoring: Route) -> Route:
    """Where a probe is sent: its own path, port and method, else GET / on the scoring port."""
    probe = reader.table(data.get(name), (name,))
    path = reader.text(probe, (name, "path")) or "/"
    port = int(reader.number(probe, (name, "port"), scoring.port))
    method = (reader.text(probe, (name, "method")) or "GET").upper()
    return Route(path, port, method, reader.origin((name, "port")))


def _largest(names: tuple[str, ...]) -> str | None:
    known = [found for found in map(instance_types.find, names) if found is not None]
    return max(known, key=lambda t: (t.memory_gib, t.vcpus)).name if known else None


def _allowed(reader: Reader, data: Table) -> tuple[str, ...]:
    """The allowed instance types, in whichever spelling the template uses (one name or a list)."""
    key = next((key for key in ALLOWED_KEYS if key in data), None)
    value = data.get(key) if key else None
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise reader.fail((str(key),), "must be an instance type or a list of them")
    return tuple(value)


def _refusals(reader: Reader, data: Table) -> None:
    """What the platform refuses in a template, each a usage error on its line."""
    kind = data.get("deployment_template_type")
    if kind is not None and str(kind) != "Managed":
        raise reader.fail(
            ("deployment_template_type",),
            f"is {kind!r}: Managed (managed online endpoints) is the only type the platform takes",
        )
    environment = data.get("environment")
    if isinstance(environment, dict):
        raise reader.fail(
            ("environment",),
            "is an inline environment, which templates do not take: reference a registry environment "
            "(azureml://registries/<registry>/environments/<name>/versions/<version>) and pass --aml-image",
        )
    if environment is not None and not str(environment).startswith(REGISTRY):
        raise reader.fail(
            ("environment",),
            f"is {environment!r}, a workspace environment, which templates do not take: reference a registry "
            "environment (azureml://registries/<registry>/environments/<name>/versions/<version>)",
        )
    for name in ("liveness_probe", "readiness_probe"):
        probe = reader.table(data.get(name), (name,))
        scheme = probe.get("scheme")
        if scheme is not None and str(scheme).lower() != "http":
            raise reader.fail(
                (name, "scheme"),
                f"is {scheme!r}: the platform probes the container over plain http",
            )
    default, allowed = data.get("default_instance_type"), _allowed(reader, data)
    if default is not None and allowed and str(default) not in allowed:
        raise reader.fail(
            ("default_instance_type",),
            f"{default!r} is not one of the allowed instance types ({', '.join(allowed)})",
        )
