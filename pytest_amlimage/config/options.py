"""Every option, spelled out once: ``--aml-x`` on the command line, ``aml_x`` in ini, ``x`` in a spec file.

An option's kind says how its value is read (``settings.convert``), its default is the value
when no source gives one, and its help text is what ``pytest --help`` shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Union

from pytest_amlimage.config.platform import SERVER_PORT

# str/list: text; float/int: non-negative numbers; positive: a number above 0 (seconds, CPUs, a factor);
# port: 1 to 65535; size: a memory size (512m, 4g, 2Gi); flag: on or off;
# path/paths: existing files or folders; file: an existing file (a folder is refused);
# outpath/outpaths: files to write (their folder must exist);
# engine: a Docker engine's address as DOCKER_HOST takes it (unix://, tcp://HOST:PORT, ssh://, npipe://).
Kind = Literal[
    "str",
    "list",
    "float",
    "int",
    "positive",
    "port",
    "size",
    "flag",
    "path",
    "file",
    "paths",
    "outpath",
    "outpaths",
    "engine",
]
Default = Union[str, float, int, bool, None]


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    kind: Kind = "str"
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


OPTIONS: tuple[Option, ...] = (
    Option(
        "image",
        "image to validate (repeatable; each runs every built-in check)",
        "list",
        "IMAGE",
        asks=True,
    ),
    Option(
        "spec", "TOML spec file with expectations and scoring settings", "file", "PATH", asks=True
    ),
    Option(
        "deployment",
        "Azure ML online deployment YAML: run the image as that deployment would",
        "file",
        "PATH",
        asks=True,
    ),
    Option("expect", "version expectation, e.g. 'numpy==1.20.1' (repeatable)", "list", "SPEC"),
    Option(
        "framework",
        "framework expectation, e.g. 'torch==1.6.*' (distribution and import)",
        "str",
        "SPEC",
    ),
    Option(
        "curated",
        "apply a curated environment's expectations (name, MCR path, or 'auto')",
        "str",
        "NAME",
    ),
    Option(
        "cuda",
        "expected CUDA version, e.g. '11.0.3' or '==11.0.*'; 'none' for a CPU image",
        "str",
        "SPEC",
    ),
    Option("cudnn", "expected cuDNN version, e.g. '8.0.5.39'; 'none' for no cuDNN", "str", "SPEC"),
    Option("gpu", "start the container with all GPUs and check the GPU is visible", "flag"),
    Option("requirements", "requirements.txt whose pins must hold in the image", "file", "PATH"),
    Option(
        "entry_script", "entry script to mount as the app (its folder, read-only)", "file", "PATH"
    ),
    Option("model_dir", "model folder to mount read-only as AZUREML_MODEL_DIR", "path", "PATH"),
    Option(
        "mlflow_model",
        "MLflow model folder to serve as a no-code deployment does: its conda.yaml's environment on the "
        "curated MLflow image, and the image's own scoring script",
        "path",
        "DIR",
    ),
    Option("sample", "sample request JSON file or folder of them (repeatable)", "paths", "PATH"),
    Option(
        "command", "command that starts the server instead of the image's own CMD", "str", "CMD"
    ),
    Option(
        "port",
        "port the scoring server listens on inside the container",
        "port",
        "PORT",
        SERVER_PORT,
    ),
    Option(
        "ready_timeout",
        "seconds to wait for GET / to answer (default: the probe budget)",
        "positive",
        "SECONDS",
    ),
    Option("score_timeout", "seconds one scoring request may take", "positive", "SECONDS", 60.0),
    Option("rtol", "relative tolerance comparing numbers in responses", "float", "RTOL", 1e-6),
    Option("atol", "absolute tolerance comparing numbers in responses", "float", "ATOL", 1e-9),
    Option(
        "instance_type",
        "size the container as this instance type (its memory and CPUs), e.g. Standard_DS3_v2",
        "str",
        "SKU",
    ),
    Option(
        "memory", "memory limit of the container (else the instance type's)", "size", "SIZE", "4g"
    ),
    Option(
        "offline",
        "also run the image with no network: the server must come up and every sample score "
        "(as a deployment with egress_public_network_access: disabled, which asks for it too)",
        "flag",
    ),
    Option(
        "cpus",
        "CPU limit of the container (default: 2, or the engine's CPUs if fewer)",
        "positive",
        "N",
    ),
    Option(
        "docker_host",
        "the Docker engine to run on, e.g. ssh://user@gpu-box or tcp://HOST:2375 "
        "(default: the DOCKER_HOST environment variable, else the local socket)",
        "engine",
        "URL",
        env="DOCKER_HOST",
    ),
    Option(
        "label",
        "extra KEY=VALUE label on the containers started, e.g. a CI job id (repeatable)",
        "list",
        "KEY=VALUE",
    ),
    Option(
        "build",
        "build this Dockerfile (or context folder) first and test the image it makes",
        "path",
        "PATH",
        asks=True,
    ),
    Option(
        "build_arg", "KEY=VALUE build argument for --aml-build (repeatable)", "list", "KEY=VALUE"
    ),
    Option("build_target", "stage to build with --aml-build", "str", "STAGE"),
    Option(
        "rm_built",
        "remove the image --aml-build made at the end (default: keep it as cache)",
        "flag",
    ),
    Option("any_base", "accept a Dockerfile whose base is not an Azure ML inference image", "flag"),
    Option(
        "baseline",
        "baseline image to compare each --aml-image with (upgrade regression)",
        "str",
        "IMAGE",
    ),
    Option(
        "rebase",
        "build --aml-build on this base too and compare it with the Dockerfile as it is",
        "str",
        "IMAGE",
    ),
    Option(
        "max_base_age",
        "fail base-age past this many days (6 months are supported); 0: off",
        "int",
        "DAYS",
        183,
    ),
    Option(
        "lock", "environment lock file to compare with (see --aml-lock-update)", "outpath", "PATH"
    ),
    Option(
        "lock_update", "write the image's environment to --aml-lock instead of comparing", "flag"
    ),
    Option(
        "allow", "allowed change against the baseline, e.g. 'numpy>=2' (repeatable)", "list", "SPEC"
    ),
    Option(
        "allow_removed",
        "package that may disappear against the baseline (repeatable)",
        "list",
        "NAME",
    ),
    Option(
        "max_slowdown",
        "fail when median scoring latency exceeds the baseline's by this factor",
        "positive",
        "X",
    ),
    Option("report", "write a report of the run: *.json or *.md (repeatable)", "outpaths", "PATH"),
    Option(
        "sbom",
        "write the image's bill of materials, CycloneDX JSON: the serving environment's Python "
        "distributions and the OS packages",
        "outpath",
        "PATH",
    ),
    Option("list_curated", "print the curated environment catalog and exit", "flag", cli_only=True),
)
BY_NAME = {option.name: option for option in OPTIONS}


def default(name: str) -> Default:
    return BY_NAME[name].default


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
