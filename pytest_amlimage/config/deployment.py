"""An Azure ML CLI v2 managed online deployment YAML (``--aml-deployment``): how the endpoint runs the image.

Read as the CLI reads it: relative paths are relative to the YAML, unknown keys are ignored,
probes and request settings default to the platform's values. Only what running the image
needs is kept; every error is one line naming the file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pytest_amlimage.config.platform import SERVER_PORT
from pytest_amlimage.config.yamlfile import Keys, Table, YamlFile
from pytest_amlimage.errors import AmlUsageError

Kind = Literal["deployment", "deployment template", "batch deployment"]


@dataclass(frozen=True)
class Probe:
    """A liveness or readiness probe; the defaults are the platform's."""

    initial_delay: float = 10.0
    period: float = 10.0
    timeout: float = 2.0
    failure_threshold: int = 30
    success_threshold: int = 1

    @property
    def budget(self) -> float:
        """Seconds from start until the platform gives up on a container that never answers."""
        return self.initial_delay + self.period * self.failure_threshold

    @property
    def shown(self) -> str:
        shown = f"initial_delay {self.initial_delay:g} + period {self.period:g}"
        return f"{shown} * failure_threshold {self.failure_threshold}"


@dataclass(frozen=True)
class Route:
    path: str
    port: int
    method: str = "GET"
    # where a YAML set the port (``template.yml:14 readiness_probe.port``); empty for the platform's default
    origin: str = field(default="", compare=False)

    @property
    def shown(self) -> str:
        return f"{self.method} {self.path} on port {self.port}"


@dataclass(frozen=True)
class Endpoint:
    """How the platform runs the container: routes, probes, request limits, environment, model naming."""

    source: str = "the platform's defaults"
    liveness_route: Route = Route("/", SERVER_PORT)
    readiness_route: Route = Route("/", SERVER_PORT)
    scoring_route: Route = Route("/score", SERVER_PORT)
    liveness_probe: Probe = Probe()
    readiness_probe: Probe = Probe()
    request_timeout_ms: int = 5000
    max_concurrent_requests: int = 1
    environment: dict[str, str] = field(default_factory=dict)
    code: Path | None = None
    model_name: str | None = None
    model_version: str | None = None
    model_mount_path: str | None = None
    instance_type: str | None = None
    # inference_config: a server of its own, not azureml-inference-server-http
    custom_container: bool = False

    @classmethod
    def on_port(cls, port: int) -> Endpoint:
        """The default routes (``GET /``, ``POST /score``) on ``port``."""
        return cls(
            liveness_route=Route("/", port),
            readiness_route=Route("/", port),
            scoring_route=Route("/score", port),
        )

    def workers(self, image_env: dict[str, str]) -> int:
        """The server's worker processes: WORKER_COUNT from the deployment, else the image, else 1."""
        count = {**image_env, **self.environment}.get("WORKER_COUNT", "")
        return int(count) if count.isdigit() and int(count) > 0 else 1

    @property
    def ports(self) -> tuple[int, ...]:
        return tuple(
            sorted(
                {r.port for r in (self.liveness_route, self.readiness_route, self.scoring_route)}
            )
        )


# the key each option comes from (a model's local_path is found by its line's fallback to model)
OPTION_KEYS = {
    "image": ("environment", "image"),
    "build": ("environment", "build", "path"),
    "entry_script": ("code_configuration", "scoring_script"),
    "model_dir": ("model", "path"),
    "mlflow_model": ("model", "path"),
    "memory": ("resources", "limits", "memory"),
    "cpus": ("resources", "limits", "cpu"),
    "offline": ("egress_public_network_access",),
    "instance_type": ("instance_type",),
}


@dataclass(frozen=True)
class BatchSettings:
    """How the driver runs the script; each default is the platform's."""

    max_concurrency_per_instance: int = 1
    mini_batch_size: int = 10
    output_action: str = "append_row"
    output_file_name: str = "predictions.csv"
    error_threshold: int = -1  # failed files over the whole input; -1 ignores all
    max_retries: int = 3
    timeout: float = 30.0  # seconds a mini-batch may take, each try
    logging_level: str = "info"
    # the deployment's environment: an image with a conda file is built into an environment first
    conda_file: Path | None = None
    lines: dict[str, int] = field(default_factory=dict)  # setting -> its line (from 1)

    def where(self, setting: str) -> str:
        """Where the YAML sets ``setting`` (``line 12``), or that it is the platform's default."""
        line = self.lines.get(setting)
        return f"line {line}" if line else "the platform's default"


@dataclass(frozen=True)
class Deployment:
    """The YAML: the endpoint's settings, and what the options ``image``, ``build``, ... take from it."""

    path: Path
    endpoint: Endpoint
    # option name -> value, relative paths relative to the YAML's folder
    options: dict[str, str | int]
    data: Table = field(default_factory=dict)  # the YAML as read, for the deployment check
    lines: dict[Keys, int] = field(default_factory=dict)  # key path -> its line (from 0)
    # a deployment template's: the instance types a deployment made from it may use
    allowed_instance_types: tuple[str, ...] = ()
    kind: Kind = "deployment"
    batch: BatchSettings | None = None  # a batch deployment's settings

    def instance_types(self) -> list[tuple[Keys, str]]:
        """Every instance type the YAML names, with its key: the deployment's, or a template's default and
        allowed ones."""
        named: list[tuple[Keys, str]] = [
            ((key,), str(self.data[key]))
            for key in ("instance_type", "default_instance_type")
            if self.data.get(key)
        ]
        key = next((k for k in ALLOWED_KEYS if k in self.data), ALLOWED_KEYS[0])
        return named + [((key,), name) for name in self.allowed_instance_types]

    def source(self, option: str) -> str:
        """Where the YAML gives ``option``: its file, line and key (``deployment d.yml:7 key model.path``)."""
        keys = OPTION_KEYS.get(option, ())
        return f"deployment {self.path}:{self.line(*keys)} key {'.'.join(keys)}"

    def line(self, *keys: str) -> int:
        """The line (from 1) of the key at ``keys``, else of the nearest key above it, else 1."""
        return YamlFile(self.path, self.data, self.lines).line(*keys)


ALLOWED_KEYS = ("allowed_instance_types", "allowed_instance_type", "allowedInstanceType")


class Reader:
    """Values out of the parsed YAML, each error naming the file and the line of the key."""

    def __init__(self, path: Path, lines: dict[Keys, int], source: str) -> None:
        self.path, self.lines, self.source = path, lines, source

    def fail(self, keys: Keys, problem: str) -> AmlUsageError:
        return AmlUsageError(
            f"{self.path}:{self._line(keys)} (from {self.source}): {'.'.join(keys)} {problem}: fix the "
            "deployment YAML"
        )

    def _line(self, keys: Keys) -> int:
        return self.lines.get(keys, self.lines.get(keys[:-1], 0)) + 1

    def origin(self, keys: Keys) -> str:
        """Where the YAML sets ``keys`` (``template.yml:14 readiness_probe.port``); empty when it does not."""
        return f"{self.path.name}:{self._line(keys)} {'.'.join(keys)}" if keys in self.lines else ""

    def table(self, data: object, keys: Keys) -> Table:
        if data is None:
            return {}
        if not isinstance(data, dict):
            raise self.fail(keys, "must be a mapping")
        return {str(key): value for key, value in data.items()}

    def number(self, data: Table, keys: Keys, default: float) -> float:
        value = data.get(keys[-1], default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise self.fail(keys, f"is {value!r}, not a non-negative number")
        return float(value)

    def probe(self, data: Table, name: str) -> Probe:
        found = self.table(data.get(name), (name,))
        default = Probe()

        def value(key: str) -> float:
            return self.number(found, (name, key), getattr(default, key))

        return Probe(
            value("initial_delay"),
            value("period"),
            value("timeout"),
            int(value("failure_threshold")),
            int(value("success_threshold")),
        )

    def requests(self, data: Table) -> tuple[int, int]:
        """``request_settings``: the request timeout (ms) and the requests one instance takes at once, the
        platform's defaults where unset."""
        request = self.table(data.get("request_settings"), ("request_settings",))
        timeout = self.number(request, ("request_settings", "request_timeout_ms"), 5000)
        keys = ("request_settings", "max_concurrent_requests_per_instance")
        return int(timeout), int(self.number(request, keys, 1))

    def variables(self, data: Table) -> dict[str, str]:
        """``environment_variables``, each value as the text the container gets."""
        found = self.table(data.get("environment_variables"), ("environment_variables",))
        return {key: str(value) for key, value in found.items()}

    def text(self, data: Table, keys: Keys) -> str | None:
        value = data.get(keys[-1])
        if value is not None and not isinstance(value, (str, int, float)):
            raise self.fail(keys, f"is {value!r}, not a single value")
        return str(value) if value not in (None, "") else None

    def route(self, config: Table, name: str, default: Route) -> Route:
        found = self.table(config.get(name), ("environment", "inference_config", name))
        keys = ("environment", "inference_config", name, "port")
        port = self.number(found, keys, default.port) if found else default.port
        path = str(found.get("path", default.path)) if found else default.path
        return Route(path, int(port), origin=self.origin(keys))


def _text(value: object) -> str | None:
    """A scalar as text; None for a value that is absent or empty."""
    return str(value) if value not in (None, "") else None


@dataclass(frozen=True)
class Parts:
    """The keys every kind of deployment reads alike: its environment, model and code configuration."""

    environment: Table
    model: object  # a table, or a reference to a model in the cloud
    model_table: Table
    code: Table

    def code_folder(self, path: Path) -> Path | None:
        return (path.parent / str(self.code["code"])).resolve() if self.code.get("code") else None

    @property
    def model_name(self) -> str | None:
        return _text(self.model_table.get("name"))

    @property
    def model_version(self) -> str | None:
        version = self.model_table.get("version")
        return str(version) if version is not None else None


def parts(reader: Reader, data: Table) -> Parts:
    environment = data.get("environment")
    env = reader.table(environment, ("environment",)) if not isinstance(environment, str) else {}
    model = data.get("model")
    model_table = reader.table(model, ("model",)) if not isinstance(model, str) else {}
    code = reader.table(data.get("code_configuration"), ("code_configuration",))
    return Parts(env, model, model_table, code)


def read(reader: Reader, data: Table, port: int) -> Deployment:
    """An online deployment (managed or Kubernetes); routes without a port of their own use ``port``."""
    path, found = reader.path, parts(reader, data)
    inference = reader.table(
        found.environment.get("inference_config"), ("environment", "inference_config")
    )
    defaults, (request_timeout, concurrency) = Endpoint.on_port(port), reader.requests(data)
    endpoint = Endpoint(
        source=f"deployment {path}",
        liveness_route=reader.route(inference, "liveness_route", defaults.liveness_route),
        readiness_route=reader.route(inference, "readiness_route", defaults.readiness_route),
        scoring_route=reader.route(inference, "scoring_route", defaults.scoring_route),
        liveness_probe=reader.probe(data, "liveness_probe"),
        readiness_probe=reader.probe(data, "readiness_probe"),
        request_timeout_ms=request_timeout,
        max_concurrent_requests=concurrency,
        environment=reader.variables(data),
        code=found.code_folder(path),
        model_name=found.model_name,
        model_version=found.model_version,
        model_mount_path=_text(data.get("model_mount_path")),
        instance_type=_text(data.get("instance_type")),
        custom_container=bool(inference),
    )
    return Deployment(path, endpoint, options_of(reader, data, found), data, reader.lines)


def options_of(reader: Reader, data: Table, found: Parts) -> dict[str, str | int]:
    """What the YAML says for the plugin's own options: image or build, entry script, model folder."""
    options: dict[str, str | int] = {}
    env, code, model_table = found.environment, found.code, found.model_table
    if env.get("image"):
        options["image"] = str(env["image"])
    build = reader.table(env.get("build"), ("environment", "build"))
    if build.get("path"):
        options["build"] = str(
            Path(str(build["path"])) / str(build.get("dockerfile_path") or "Dockerfile")
        )
    if code.get("code") and code.get("scoring_script"):
        options["entry_script"] = str(Path(str(code["code"])) / str(code["scoring_script"]))
    elif code:
        raise reader.fail(("code_configuration",), "needs both code and scoring_script")
    options.update(_resources(reader, data))
    model_path = model_table.get("path") or model_table.get("local_path")
    no_code = str(model_table.get("type", "")) == "mlflow_model" and not code
    if model_path:  # an MLflow model without a scoring script: the image's own script serves it
        options["mlflow_model" if no_code else "model_dir"] = str(model_path)
    elif found.model is not None:
        raise reader.fail(
            ("model",),
            f"is {found.model!r}, a model in the cloud: give a local model.path or --aml-model-dir",
        )
    return options


def _resources(reader: Reader, data: Table) -> dict[str, str | int]:
    """The instance type, or a Kubernetes deployment's resources.limits (else its default instance type)."""
    from pytest_amlimage.config.instance_types import LEAST_MEMORY, cpu_count, kubernetes_bytes

    found: dict[str, str | int] = {}
    resources = reader.table(data.get("resources"), ("resources",))
    limits = reader.table(resources.get("limits"), ("resources", "limits"))
    if limits.get("memory") is not None:
        size = kubernetes_bytes(str(limits["memory"]))
        if size is None or size < LEAST_MEMORY:
            raise reader.fail(
                OPTION_KEYS["memory"],
                f"is {limits['memory']!r}, not a size like 2Gi (at least 6Mi)",
            )
        found["memory"] = size  # bytes
    if limits.get("cpu") is not None:
        cpus = cpu_count(str(limits["cpu"]))
        if cpus is None:
            raise reader.fail(OPTION_KEYS["cpus"], f"is {limits['cpu']!r}, not CPUs like 2 or 500m")
        found["cpus"] = f"{cpus:g}"
    if str(data.get("egress_public_network_access", "")).lower() == "disabled":
        # the deployment reaches nothing but its workspace's private endpoints
        found["offline"] = "true"
    if data.get("instance_type"):
        found["instance_type"] = str(data["instance_type"])
    elif is_kubernetes(data) and not limits:
        found["instance_type"] = "defaultinstancetype"
    return found


def is_kubernetes(data: Table) -> bool:
    """A Kubernetes online deployment (its schema or its type says so), not a managed one."""
    return (
        "kubernetes" in str(data.get("$schema", "")).lower()
        or str(data.get("type", "")) == "kubernetes"
    )
