"""What Azure ML's runit run script does before the server starts, and how it says it stopped.

Microsoft publishes the script (Azure/azureml-assets, ``mlflow-model-inference/context/runit/gunicorn/run``)
and ``grant_ownership.sh`` beside it, which names the error each folder the runtime user does not own
causes. The dynamic installs are one ``if``/``elif`` chain: the first variable set is the only one used.
Pure functions of the log and the container's environment.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pytest_amlimage.engine.container import AmlContainer

# the chain's branches, in the script's order; in the conda branch the absolute path wins
CHAIN: tuple[tuple[str, ...], ...] = (
    ("AZUREML_EXTRA_PYTHON_LIB_PATH",),
    ("AZUREML_EXTRA_CONDA_YAML_ABS_PATH", "AZUREML_EXTRA_CONDA_YAML"),
    ("AZUREML_EXTRA_REQUIREMENTS_TXT",),
)
EXTRA = tuple(name for branch in CHAIN for name in branch)
EXIT_CODES = {
    94: "the start script stopped: AZUREML_DEBUG_PORT is set but debugpy cannot be injected (exit code 94)",
    95: "the start script's pip or conda install failed (exit code 95)",
    96: "the start script found no azureml-inference-server-http before making the conda environment "
    "(exit code 96)",
    97: "the start script found no AZUREML_EXTRA_PYTHON_LIB_PATH folder (exit code 97)",
    98: "the start script found no conda file (AZUREML_EXTRA_CONDA_YAML_ABS_PATH or AZUREML_EXTRA_CONDA_YAML, "
    "exit code 98)",
    99: "the start script found no AZUREML_EXTRA_REQUIREMENTS_TXT file (exit code 99)",
    100: "the start script found no azureml-inference-server-http in the environment that serves (exit code 100)",
}
INSTALL_ERROR = re.compile(r"^(?:ERROR|CondaError|error)[:\s][^\n]*$", re.MULTILINE)
STOPS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"expected requirements file not found: (\S+?)\.? Exiting"),
        "the start script found no requirements file at {0} (AZUREML_EXTRA_REQUIREMENTS_TXT, read from the "
        "entry script's folder): add the file there, or unset the variable",
    ),
    (
        re.compile(r"expected conda yaml file not found: (\S+?)\.? Exiting"),
        "the start script found no conda file at {0} ({conda}): add the file there, or unset the variable",
    ),
    (
        re.compile(r"Expected folder with pre-installed packages not found: (\S+?)\.? Exiting"),
        "the start script found no folder at {0} (AZUREML_EXTRA_PYTHON_LIB_PATH, read from the entry "
        "script's folder): add the folder there, or unset the variable",
    ),
    (  # pip removed to quiet a scanner: the script's `pip show` finds nothing, the server or not
        # stderr's line and stdout's come in either order in the container's log
        re.compile(
            r"(?:pip3?: (?:command )?not found|No module named pip)[\s\S]*"
            r"A required package azureml-inference-server-http is missing"
            r"|A required package azureml-inference-server-http is missing[\s\S]*"
            r"(?:pip3?: (?:command )?not found|No module named pip)"
        ),
        "pip is not in the image, so the start script's `pip show azureml-inference-server-http` finds "
        "nothing and it stops with exit code 100, whether the server is installed or not: keep pip in the "
        "serving environment (the script needs it at every start)",
    ),
    (
        re.compile(r"A required package azureml-inference-server-http is missing"),
        "the start script found no azureml-inference-server-http in the environment that serves (exit "
        "code 100): pip install azureml-inference-server-http in the image's environment",
    ),
    (
        re.compile(r"gunicorn/run \| azureml-inference-server-http not installed"),
        "the start script found azureml-inference-server-http not installed, so it cannot reinstall it "
        "into the conda environment it makes from {conda}: install the server in the image",
    ),
    (
        re.compile(r"debugpy cannot be not injected"),
        "the start script stopped: AZUREML_DEBUG_PORT is set, but debugpy cannot be injected: unset "
        "AZUREML_DEBUG_PORT (the server would wait for a debugger forever anyway)",
    ),
    (
        re.compile(r"Error occurred\. Sleeping to send error logs"),
        "the start script's install of the extra packages failed: {install}",
    ),
)
# the folders grant_ownership.sh gives the runtime user, the deepest first
GRANTED = (
    "/var/lib/nginx",
    "/var/log/nginx",
    "/var/log",
    "/run",
    "/var/run",
    "/opt/miniconda",
    "/var/azureml-app",
)
RUNSV_LOCK = re.compile(r"runsv (\S+): fatal: unable to open supervise/lock")
# nginx's words
DENIED = re.compile(r'\b(open|mkdir)\(\) "([^"]+)" failed \(13: Permission denied\)')
CONDA_DENIED = re.compile(r"NotWritableError[^\n]*(?:\n[^\n]*){0,3}?\n\s*path: '?([^'\s]+)")


@dataclass(frozen=True)
class Runtime:
    """What the log is read with: the container's environment and its user (unknown: empty)."""

    env: Mapping[str, str] = field(default_factory=dict)
    user: str = ""

    @classmethod
    def of(cls, container: AmlContainer) -> Runtime:
        """What the log of ``container`` is read with: its environment and its configured user."""
        return cls(container.env, container.user)

    @property
    def owner(self) -> str:
        """Who a ``chown`` should name: the image's user without its group, else dockeruser."""
        return self.user.split(":")[0] or "dockeruser"


def taken(env: Mapping[str, str]) -> tuple[str | None, list[str]]:
    """The variable the chain uses, and those set beside it that it ignores (only the first branch runs)."""
    set_here = [name for name in EXTRA if env.get(name)]
    return (set_here[0], set_here[1:]) if set_here else (None, [])


def ignored_line(env: Mapping[str, str]) -> str | None:
    """Which AZUREML_EXTRA_* variables the start script ignores, and why; None when none is."""
    used, ignored = taken(env)
    if not ignored:
        return None
    return (
        f"{', '.join(ignored)} {'is' if len(ignored) == 1 else 'are'} ignored: the start script takes one "
        f"branch of installs, and {used}, set too, comes first"
    )


def _conda_source(env: Mapping[str, str]) -> str:
    if env.get("AZUREML_EXTRA_CONDA_YAML_ABS_PATH"):
        return "AZUREML_EXTRA_CONDA_YAML_ABS_PATH, taken as it is"
    if env.get("AZUREML_EXTRA_CONDA_YAML"):
        return "AZUREML_EXTRA_CONDA_YAML, read from the entry script's folder"
    return "AZUREML_EXTRA_CONDA_YAML_ABS_PATH as it is, or AZUREML_EXTRA_CONDA_YAML from the entry script's folder"


def stopped(log: str, runtime: Runtime) -> str | None:
    """The run script's own reason for stopping before the server started (its exit codes 94 to 100)."""
    for pattern, text in STOPS:
        found = pattern.search(log)
        if found:
            errors = INSTALL_ERROR.findall(log[: found.start()])
            install = errors[-1].strip() if errors else "see pip's or conda's output below"
            return text.format(*found.groups(), install=install, conda=_conda_source(runtime.env))
    return None


def _granted(path: str) -> str:
    """The folder whose ``chown`` fixes ``path``: the grant's folder above it, else its own folder."""
    for folder in GRANTED:
        if path == folder or path.startswith(folder + "/"):
            return folder
    return posixpath.dirname(path)


def ownership(log: str, runtime: Runtime) -> str | None:
    """A folder the runtime user does not own, as the program that needed it said, with the ``chown`` that fixes it."""
    fix = "as root: RUN chown -R {owner} {folder}"
    lock = RUNSV_LOCK.search(log)
    if lock:
        service = posixpath.join(runtime.env.get("SVDIR") or "/var/runit", lock.group(1))
        return (
            f"runsv cannot write {service}/supervise (unable to open supervise/lock): the service "
            f"{lock.group(1)} never starts; {fix.format(owner=runtime.owner, folder=service)}"
        )
    denied = DENIED.search(log)
    if denied:
        verb, path = denied.groups()
        action = "create" if verb == "mkdir" else "open"
        folder = _granted(path)
        return (
            f"nginx cannot {action} {path} (13: Permission denied): the runtime user does not own "
            f"{folder}; {fix.format(owner=runtime.owner, folder=folder)}"
        )
    conda = CONDA_DENIED.search(log)
    if conda:
        folder = _granted(conda.group(1))
        return (
            f"conda cannot write {conda.group(1)} (NotWritableError) while the start script makes the "
            f"environment; {fix.format(owner=runtime.owner, folder=folder)}"
        )
    return None
