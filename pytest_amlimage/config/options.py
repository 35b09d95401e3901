"""Every option, spelled out once: ``--aml-x`` on the command line, ``aml_x`` in ini, ``x`` in a spec file.

Each option is a typed key, ``Option[T]``, on the model of ``pytest.StashKey[T]``: it carries its reader
(``kinds``), so ``Sources.value(MEMORY)`` is an ``int | None`` to mypy and a misspelt key is a name error.
Its kind says how its value is read, its default is the value when no source gives one, and its help text
is what ``pytest --help`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Generic, Literal, TypeVar, Union

from pytest_amlimage.config import kinds
from pytest_amlimage.config.kinds import Found, Kind
from pytest_amlimage.config.platform import SERVER_PORT

T = TypeVar("T")
Default = Union[str, float, int, bool, None]


@dataclass(frozen=True)
class Option(Generic[T]):
    """One option, and the type its value is read as (its ``read``)."""

    name: str
    help: str
    kind: Kind
    read: Callable[[kinds.Described, Found | None], T]
    metavar: str = "VALUE"
    default: Default = None
    cli_only: bool = False
    asks: bool = False  # names what to test: given alone, in any spelling, it runs the plugin
    env: str | None = None  # an environment variable that gives the value when no option does

    @property
    def flag(self) -> str:
        return "--aml-" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return "aml_" + self.name

    @property
    def ini_type(self) -> Literal["bool", "linelist", "string"]:
        return "bool" if self.kind == "flag" else "linelist" if self.repeatable else "string"

    @property
    def repeatable(self) -> bool:
        return self.kind in ("list", "paths", "outpaths")

    @property
    def described(self) -> str:
        """The help text, with the default where there is one."""
        return (
            self.help if self.default in (None, False) else f"{self.help} (default {self.default})"
        )


# one constructor a type: the kind and the reader are chosen together, so T is always what is read
def text(
    name: str,
    help: str,
    *,
    kind: Literal["str", "engine"] = "str",
    metavar: str = "VALUE",
    env: str | None = None,
) -> Option[str | None]:
    reader = kinds.engine if kind == "engine" else kinds.text
    return Option(name, help, kind, reader, metavar, env=env)


def texts(name: str, help: str, *, metavar: str, asks: bool = False) -> Option[tuple[str, ...]]:
    return Option(name, help, "list", kinds.texts, metavar, asks=asks)


def number(
    name: str,
    help: str,
    *,
    kind: Literal["float", "positive"],
    metavar: str,
    default: float,
) -> Option[float]:
    return Option(name, help, kind, kinds.number, metavar, default)


def whole_number(
    name: str, help: str, *, kind: Literal["int", "port"], metavar: str, default: int
) -> Option[int]:
    return Option(name, help, kind, kinds.whole_number, metavar, default)


def optional_number(
    name: str, help: str, *, kind: Literal["float", "int", "positive"], metavar: str
) -> Option[float | None]:
    return Option(name, help, kind, kinds.optional_number, metavar)


def size(name: str, help: str, *, metavar: str, default: str) -> Option[int]:
    return Option(name, help, "size", kinds.size, metavar, default)


def flag(name: str, help: str, *, cli_only: bool = False) -> Option[bool]:
    return Option(name, help, "flag", kinds.flag, cli_only=cli_only)


def path(
    name: str,
    help: str,
    *,
    kind: Literal["path", "file", "outpath"],
    metavar: str,
    asks: bool = False,
) -> Option[Path | None]:
    return Option(name, help, kind, kinds.path, metavar, asks=asks)


def paths(
    name: str, help: str, *, kind: Literal["paths", "outpaths"], metavar: str
) -> Option[tuple[Path, ...]]:
    return Option(name, help, kind, kinds.paths, metavar)


IMAGE = texts(
    "image",
    "image to validate (repeatable; each runs every built-in check)",
    metavar="IMAGE",
    asks=True,
)
SPEC = path(
    "spec",
    "TOML spec file with expectations and scoring settings",
    kind="file",
    metavar="PATH",
    asks=True,
)
DEPLOYMENT = path(
    "deployment",
    "Azure ML online deployment YAML: run the image as that deployment would",
    kind="file",
    metavar="PATH",
    asks=True,
)
EXPECT = texts("expect", "version expectation, e.g. 'numpy==1.20.1' (repeatable)", metavar="SPEC")
FRAMEWORK = text(
    "framework",
    "framework expectation, e.g. 'torch==1.6.*' (distribution and import)",
    metavar="SPEC",
)
CURATED = text(
    "curated",
    "apply a curated environment's expectations (name, MCR path, or 'auto')",
    metavar="NAME",
)
CUDA = text(
    "cuda",
    "expected CUDA version, e.g. '11.0.3' or '==11.0.*'; 'none' for a CPU image",
    metavar="SPEC",
)
CUDNN = text(
    "cudnn", "expected cuDNN version, e.g. '8.0.5.39'; 'none' for no cuDNN", metavar="SPEC"
)
GPU = flag("gpu", "start the container with all GPUs and check the GPU is visible")
REQUIREMENTS = path(
    "requirements",
    "requirements.txt whose pins must hold in the image",
    kind="file",
    metavar="PATH",
)
ENTRY_SCRIPT = path(
    "entry_script",
    "entry script to mount as the app (its folder, read-only)",
    kind="file",
    metavar="PATH",
)
MODEL_DIR = path(
    "model_dir", "model folder to mount read-only as AZUREML_MODEL_DIR", kind="path", metavar="PATH"
)
MLFLOW_MODEL = path(
    "mlflow_model",
    "MLflow model folder to serve as a no-code deployment does: its conda.yaml's environment on the "
    "curated MLflow image, and the image's own scoring script",
    kind="path",
    metavar="DIR",
)
BATCH_INPUT = path(
    "batch_input",
    "file or folder of files a batch deployment (--aml-deployment) scores; nested folders are not read, "
    "as on the platform",
    kind="path",
    metavar="PATH",
)
SAMPLE = paths(
    "sample",
    "sample request JSON file or folder of them (repeatable)",
    kind="paths",
    metavar="PATH",
)
COMMAND = text(
    "command", "command that starts the server instead of the image's own CMD", metavar="CMD"
)
PORT = whole_number(
    "port",
    "port the scoring server listens on inside the container",
    kind="port",
    metavar="PORT",
    default=SERVER_PORT,
)
READY_TIMEOUT = optional_number(
    "ready_timeout",
    "seconds to wait for GET / to answer (default: the probe budget)",
    kind="positive",
    metavar="SECONDS",
)
SCORE_TIMEOUT = number(
    "score_timeout",
    "seconds one scoring request may take",
    kind="positive",
    metavar="SECONDS",
    default=60.0,
)
RTOL = number(
    "rtol",
    "relative tolerance comparing numbers in responses",
    kind="float",
    metavar="RTOL",
    default=1e-06,
)
ATOL = number(
    "atol",
    "absolute tolerance comparing numbers in responses",
    kind="float",
    metavar="ATOL",
    default=1e-09,
)
INSTANCE_TYPE = texts(
    "instance_type",
    "size the container as this instance type (its memory and CPUs), e.g. Standard_DS3_v2; repeat it "
    "to measure --aml-capacity on each (the first sizes the other checks)",
    metavar="SKU",
)
MEMORY = size(
    "memory",
    "memory limit of the container (else the instance type's)",
    metavar="SIZE",
    default="4g",
)
OFFLINE = flag(
    "offline",
    "also run the image with no network: the server must come up and every sample score "
    "(as a deployment with egress_public_network_access: disabled, which asks for it too)",
)
CPUS = optional_number(
    "cpus",
    "CPU limit of the container (default: 2, or the engine's CPUs if fewer)",
    kind="positive",
    metavar="N",
)
DOCKER_HOST = text(
    "docker_host",
    "the Docker engine to run on, e.g. ssh://user@gpu-box or tcp://HOST:2375 "
    "(default: the DOCKER_HOST environment variable, else the local socket)",
    kind="engine",
    metavar="URL",
    env="DOCKER_HOST",
)
LABEL = texts(
    "label",
    "extra KEY=VALUE label on the containers started, e.g. a CI job id (repeatable)",
    metavar="KEY=VALUE",
)
BUILD = path(
    "build",
    "build this Dockerfile (or context folder) first and test the image it makes",
    kind="path",
    metavar="PATH",
    asks=True,
)
BUILD_ARG = texts(
    "build_arg", "KEY=VALUE build argument for --aml-build (repeatable)", metavar="KEY=VALUE"
)
BUILD_TARGET = text("build_target", "stage to build with --aml-build", metavar="STAGE")
RM_BUILT = flag(
    "rm_built", "remove the image --aml-build made at the end (default: keep it as cache)"
)
ANY_BASE = flag("any_base", "accept a Dockerfile whose base is not an Azure ML inference image")
BASELINE = text(
    "baseline",
    "baseline image to compare each --aml-image with (upgrade regression)",
    metavar="IMAGE",
)
REBASE = text(
    "rebase",
    "build --aml-build on this base too and compare it with the Dockerfile as it is",
    metavar="IMAGE",
)
MAX_BASE_AGE = whole_number(
    "max_base_age",
    "fail base-age past this many days (6 months are supported); 0: off",
    kind="int",
    metavar="DAYS",
    default=183,
)
LOCK = path(
    "lock",
    "environment lock file to compare with (see --aml-lock-update)",
    kind="outpath",
    metavar="PATH",
)
LOCK_UPDATE = flag(
    "lock_update", "write the image's environment to --aml-lock instead of comparing"
)
ALLOW = texts(
    "allow", "allowed change against the baseline, e.g. 'numpy>=2' (repeatable)", metavar="SPEC"
)
ALLOW_REMOVED = texts(
    "allow_removed", "package that may disappear against the baseline (repeatable)", metavar="NAME"
)
CAPACITY = flag(
    "capacity",
    "measure how much the image serves on each instance type in scope, sweeping WORKER_COUNT and "
    "concurrency (off by default: about a minute a type)",
)
CAPACITY_BUDGET = number(
    "capacity_budget",
    "seconds the capacity run may take on each instance type",
    kind="positive",
    metavar="SECONDS",
    default=60,
)
LATENCY_P95 = optional_number(
    "latency_p95",
    "the capacity run's latency bound: p95 in ms (default: request_timeout_ms)",
    kind="positive",
    metavar="MS",
)
TARGET_RPS = optional_number(
    "target_rps",
    "requests a second the deployment must serve: the capacity run recommends instance type and count",
    kind="positive",
    metavar="N",
)
MAX_SLOWDOWN = optional_number(
    "max_slowdown",
    "fail when median scoring latency exceeds the baseline's by this factor",
    kind="positive",
    metavar="X",
)
REPORT = paths(
    "report",
    "write a report of the run: *.json or *.md (repeatable)",
    kind="outpaths",
    metavar="PATH",
)
SBOM = path(
    "sbom",
    "write the image's bill of materials, CycloneDX JSON: the serving environment's Python "
    "distributions and the OS packages",
    kind="outpath",
    metavar="PATH",
)
LIST_CURATED = flag("list_curated", "print the curated environment catalog and exit", cli_only=True)

OPTIONS: tuple[Option[Any], ...] = (
    IMAGE,
    SPEC,
    DEPLOYMENT,
    EXPECT,
    FRAMEWORK,
    CURATED,
    CUDA,
    CUDNN,
    GPU,
    REQUIREMENTS,
    ENTRY_SCRIPT,
    MODEL_DIR,
    MLFLOW_MODEL,
    BATCH_INPUT,
    SAMPLE,
    COMMAND,
    PORT,
    READY_TIMEOUT,
    SCORE_TIMEOUT,
    RTOL,
    ATOL,
    INSTANCE_TYPE,
    MEMORY,
    OFFLINE,
    CPUS,
    DOCKER_HOST,
    LABEL,
    BUILD,
    BUILD_ARG,
    BUILD_TARGET,
    RM_BUILT,
    ANY_BASE,
    BASELINE,
    REBASE,
    MAX_BASE_AGE,
    LOCK,
    LOCK_UPDATE,
    ALLOW,
    ALLOW_REMOVED,
    MAX_SLOWDOWN,
    CAPACITY,
    CAPACITY_BUDGET,
    LATENCY_P95,
    TARGET_RPS,
    REPORT,
    SBOM,
    LIST_CURATED,
)
BY_NAME = {option.name: option for option in OPTIONS}


def default_of(option: Option[T]) -> T:
    """The value ``option`` has when no source gives one."""
    return option.read(option, None)


BY_FLAG = {option.flag: option for option in OPTIONS}
PATH_KINDS = ("path", "file", "paths", "outpath", "outpaths")


def rootdir_from_value(
    args: Sequence[str], invocation: Path, rootdir: Path, inifile: Path | None
) -> str | None:
    """The warning when pytest took the rootdir from a path option's value written after a space.

    pytest sets plugin options aside while it finds the rootdir, so ``--aml-sample /x/s.json``
    reads as a test path /x/s.json (pytest-dev/pytest#8846), and the configuration of the folder
    pytest runs in may go unread; ``--aml-sample=/x/s.json`` does not.
    """
    if rootdir == invocation or (
        inifile is not None and inifile.parent in (invocation, *invocation.parents)
    ):
        return None
    for flag, value in zip(args, args[1:]):
        option = BY_FLAG.get(flag)
        path = (invocation / value).resolve()
        if option is None or option.kind not in PATH_KINDS or invocation in (path, *path.parents):
            continue
        if rootdir in (path, *path.parents):
            return (
                f"pytest took the rootdir {rootdir} from the value of {flag} {value} (a plugin option's value "
                f"after a space reads as a test path): write {flag}={value}"
            )
    return None
