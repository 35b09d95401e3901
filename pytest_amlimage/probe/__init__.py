"""One exec of one script gives every fact about the image's Python environment.

The host side: the launcher, the script assembled from ``inimage/`` in a declared order,
and the parsed ``Facts``. The in-image parts import each other (``frame`` <- ``gpu`` <-
``environment``) only for the linters; ``script()`` drops those imports when it joins them.
"""

from __future__ import annotations

import dataclasses
import re
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Protocol, cast

from packaging.utils import canonicalize_name

from pytest_amlimage.config.platform import APP_ROOT
from pytest_amlimage.engine.container import ExecResult
from pytest_amlimage.probe.inimage.frame import BEGIN, END, framed
from pytest_amlimage.probe.inimage.imports import SERVER_CWD
from pytest_amlimage.probe.shapes import (
    CredentialsDoc,
    EntryScriptDoc,
    FolderDoc,
    ImportDoc,
    OsPackagesDoc,
    PkgResourcesDoc,
    ProbeDoc,
    RuntimeFolderDoc,
    ServerScriptDoc,
)

# each after what it uses
PARTS = (
    "frame.py",
    "gpu.py",
    "folders.py",
    "credentials.py",
    "packages.py",
    "resolve.py",
    "imports.py",
    "environment.py",
)
# dropped when the parts are joined: their imports of each other, and the imports only the type checker reads
_JOINED_AWAY = re.compile(
    r"^from (\.\w*|__future__) import (\([^)]*\)|.*)$|^if TYPE_CHECKING:\n(?:[ \t]+.*\n|\n)*",
    re.MULTILINE,
)
UID_MARK = "@@AMLIMAGE-UID@@"
NO_PYTHON = "@@AMLIMAGE-NO-PYTHON@@"
# path, #! program, yes/no/unreadable/missing, #! line: tab-separated
SERVER_MARK = "@@AMLIMAGE-SERVER@@"
# said before the probe
_LAUNCHER_LINE = re.compile(rf"({re.escape(UID_MARK)}|{re.escape(SERVER_MARK)})([^\n]*)\n?")
_SCRIPT_ERRORS = {"unreadable": "Permission denied", "missing": "No such file or directory"}
# what the start command runs the server with, where it names it
SERVER_PROGRAM = "AMLIMAGE_SERVER_PROGRAM"
# exit code 128 + signal: what a container's end sends
KILLING_SIGNALS = (
    signal.SIGKILL,
    signal.SIGTERM,
)


def _launcher() -> str:
    """The launcher, which picks the serving python, with the markers it prints written in."""
    text = resources.files(__package__).joinpath("launcher.sh").read_text()
    for name, mark in (
        ("UID_MARK", UID_MARK),
        ("SERVER_MARK", SERVER_MARK),
        ("NO_PYTHON", NO_PYTHON),
    ):
        text = text.replace(name, mark)
    return text


LAUNCHER = _launcher()


__all__ = [
    "BEGIN",
    "END",
    "SERVER_CWD",
    "SERVER_PROGRAM",
    "Distribution",
    "Evidence",
    "Facts",
    "parse",
    "run_probe",
    "script",
]


class Executor(Protocol):
    def exec(
        self, command: list[str], environment: Mapping[str, str] | None = None
    ) -> ExecResult: ...


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    requires: tuple[str, ...] = ()
    requires_python: str | None = None
    top_level: tuple[str, ...] = ()  # the modules it installs (its top_level.txt)


@dataclass(frozen=True)
class Evidence:
    """One piece of CUDA or cuDNN evidence: which library, which installation, where it was read."""

    library: str
    origin: str
    source: str
    version: str | None
    error: str | None = None

    @property
    def parts(self) -> tuple[int, ...]:
        return tuple(int(p) for p in (self.version or "").split(".") if p.isdigit())

    @property
    def toolkit(self) -> bool:
        """Names the CUDA toolkit's version (which the catalog states), not a component's."""
        return self.source.endswith(("env CUDA_VERSION", "version.json cuda", "version.txt"))

    @property
    def from_env(self) -> bool:
        return self.source.startswith("env ")

    def shown(self) -> str:
        return f"{self.version or '?'} from {self.source}" + (
            f" ({self.error})" if self.error else ""
        )


@dataclass(frozen=True)
class Facts:
    """What the probe found; ``python_error`` is set when there was no Python to ask.

    ``raw`` is the probe's whole JSON document, kept for users' own tests; the plugin reads the fields.
    """

    uid: int | None
    python_error: str | None = None
    killed: bool = False  # the probe was killed (as a container's ending kills it), not answered
    python_version: str | None = None
    python_executable: str | None = None
    # the `python` a shell would run, when it is not the serving one
    python_on_path: str | None = None
    user_name: str | None = None
    os_release: dict[str, str] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    broken_distributions: tuple[str, ...] = ()
    frameworks: dict[str, ImportDoc] = field(default_factory=dict)
    folders: dict[str, FolderDoc] = field(default_factory=dict)
    gpu_evidence: tuple[Evidence, ...] = ()
    # distribution -> its module's import
    imports: dict[str, ImportDoc] = field(default_factory=dict)
    entry_script: EntryScriptDoc = field(default_factory=lambda: EntryScriptDoc())
    server_script: ServerScriptDoc = field(default_factory=lambda: ServerScriptDoc())
    runtime_folders: tuple[RuntimeFolderDoc, ...] = ()
    # each runit run script -> the AZUREML_EXTRA_* variables it reads
    start_scripts: dict[str, list[str]] = field(default_factory=dict)
    # each runit run script that runs pip as the container starts -> its first such line
    pip_at_start: dict[str, int] = field(default_factory=dict)
    pkg_resources: PkgResourcesDoc = field(
        default_factory=lambda: PkgResourcesDoc(available=True, importers={})
    )
    credentials: CredentialsDoc = field(default_factory=lambda: CredentialsDoc())
    os_packages: OsPackagesDoc = field(default_factory=lambda: OsPackagesDoc())
    image_information: str | None = None  # /IMAGE_INFORMATION, where the image has one
    raw: ProbeDoc = field(default_factory=lambda: ProbeDoc())

    def version_of(self, name: str) -> str | None:
        dist = self.distributions.get(name)
        return dist.version if dist else None


def script() -> str:
    """The in-container script: the parts in order, their imports of each other dropped."""
    folder = resources.files(__package__).joinpath("inimage")
    body = "\n\n".join(_JOINED_AWAY.sub("", folder.joinpath(part).read_text()) for part in PARTS)
    return "from __future__ import annotations\n" + body


def run_probe(
    container: Executor, wanted: Iterable[str] = (), environment: Mapping[str, str] | None = None
) -> Facts:
    """Probe the container; ``wanted``: distributions to import (in child processes) besides the frameworks.

    ``environment``: ``LaunchPlan.probe_environment``, so the probe reads the entry script the server loads.
    """
    command = ["sh", "-c", LAUNCHER, "amlimage-probe", script(), APP_ROOT, ",".join(sorted(wanted))]
    result = container.exec(command, environment)
    return parse(result)


def _launcher_said(text: str) -> dict[str, str]:
    """What the launcher printed before the probe ran, by marker."""
    return {found.group(1): found.group(2) for found in _LAUNCHER_LINE.finditer(text)}


def _server_script(line: str | None) -> ServerScriptDoc:
    """The azmlinfsrv that starts, the program its ``#!`` line names, and whether that is in the image."""
    if line is None:
        return {}
    path, program, runs, first = [*line.split("\t", 3), "", "", ""][:4]
    if runs in _SCRIPT_ERRORS:
        return {"path": path, "error": _SCRIPT_ERRORS[runs]}
    runs_there = {"yes": True, "no": False}.get(runs)  # None: no #! line to tell from
    return {
        "path": path,
        "shebang": first if program else None,
        "interpreter": program or None,
        "runs": runs_there,
    }


def parse(result: ExecResult) -> Facts:
    """Facts from the probe's output; banners and warnings around the framed JSON are ignored."""
    said = _launcher_said(result.output)
    uid = int(said[UID_MARK]) if said.get(UID_MARK, "").strip().isdigit() else None
    script = _server_script(said.get(SERVER_MARK))
    if NO_PYTHON in result.output:
        return Facts(
            uid, python_error="no `python` or `python3` on the image's PATH", server_script=script
        )
    raw = framed(result.output)
    if not isinstance(raw, dict):
        printed = _LAUNCHER_LINE.sub("", result.output)
        detail = (result.stderr or printed).strip()[-1500:] or f"exit code {result.exit_code}"
        killed = result.exit_code < 0 or result.exit_code - 128 in KILLING_SIGNALS
        return Facts(
            uid,
            python_error=f"the probe did not finish: {detail}",
            killed=killed,
            server_script=script,
        )
    return dataclasses.replace(from_json(cast(ProbeDoc, raw), uid), server_script=script)


def from_json(raw: ProbeDoc, uid: int | None = None) -> Facts:
    """The one reader of the document's keys: every check reads the typed fields."""
    dists = {
        str(canonicalize_name(key)): Distribution(
            value["name"],
            value["version"],
            tuple(value.get("requires") or ()),
            value.get("requires_python"),
            tuple(value.get("top_level") or ()),
        )
        for key, value in raw.get("distributions", {}).items()
    }
    python, user = raw.get("python", {}), raw.get("user", {})
    return Facts(
        uid=user.get("uid", uid),
        python_version=python.get("version"),
        python_executable=python.get("executable"),
        python_on_path=python.get("on_path"),
        user_name=user.get("name"),
        os_release=raw.get("os_release", {}),
        markers=raw.get("markers", {}),
        distributions=dists,
        broken_distributions=tuple(raw.get("broken_distributions", ())),
        frameworks=raw.get("frameworks", {}),
        folders=raw.get("folders", {}),
        gpu_evidence=tuple(Evidence(**item) for item in raw.get("gpu_evidence", [])),
        imports=raw.get("imports", {}),
        entry_script=raw.get("entry_script", EntryScriptDoc()),
        runtime_folders=tuple(raw.get("runtime_folders", ())),
        start_scripts=raw.get("start_scripts", {}),
        pip_at_start=raw.get("pip_at_start", {}),
        pkg_resources=raw.get("pkg_resources", PkgResourcesDoc(available=True, importers={})),
        credentials=raw.get("credentials", CredentialsDoc()),
        os_packages=raw.get("os_packages", OsPackagesDoc()),
        image_information=raw.get("image_information"),
        raw=raw,
    )
