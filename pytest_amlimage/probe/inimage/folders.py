"""Which folders the runtime user can read or write (a part of the probe script; in the image, Python 3.7+).

The app root and the model must be readable. Under runit, a folder must be writable only where a
service writes it: runsv each service's ``supervise/``, and the programs the services run (nginx,
rsyslogd) their own folders, read from the run scripts present in the image. The troubleshooting
doc's six "can't boot up" folders come from the real images' nginx and rsyslog services; an image
without them does not need those folders.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..shapes import FolderDoc, RuntimeFolderDoc


WALK_LIMIT = 5000
RUNIT = "/var/runit"
# a program a runit service starts as the runtime user -> the folders it writes
SERVICE_FOLDERS = {
    "nginx": ("/var/lib/nginx", "/var/log/nginx", "/run"),
    "rsyslogd": ("/var/log", "/run"),
}


def folder_access(path: str | None) -> FolderDoc:
    """Can this user read the folder, and which entries below it can anyone write?"""
    if not path or not os.path.isdir(path):
        return {"path": path, "exists": False}
    world_writable: list[str] = []
    seen = 0
    for root, dirs, files in os.walk(path):
        for entry in dirs + files:
            seen += 1
            full = os.path.join(root, entry)
            try:
                if os.lstat(full).st_mode & 0o002 and not os.path.islink(full):
                    world_writable.append(full)
            except OSError:
                pass
        if seen > WALK_LIMIT:
            break
    readable = os.access(path, os.R_OK | os.X_OK)
    return {
        "path": path,
        "exists": True,
        "readable": readable,
        "world_writable": world_writable[:50],
    }


def app_folder(app_root: str, script: str | None) -> str:
    """The folder whose permissions are the app's: the app root, or the script's own folder when the root is ``/``.

    ``azmlinfsrv --entry_script /app/score.py`` started from ``/`` takes ``/`` as its app root, which holds
    the whole system (``/tmp``, ``/proc``), not the app.
    """
    if os.path.realpath(app_root) == "/" and script:
        return os.path.dirname(os.path.join(app_root, script))
    return app_root


def _owner(path: str) -> int | None:
    try:
        return os.stat(path).st_uid
    except OSError:
        return None


def service_programs(run_script: str) -> list[str]:
    """The programs of SERVICE_FOLDERS a run script starts, except under sudo (which runs them as root)."""
    found = []
    for line in run_script.splitlines():
        words = line.split("#")[0].split()
        for index, word in enumerate(words):
            name = os.path.basename(word)
            if name in SERVICE_FOLDERS and "sudo" not in words[:index] and name not in found:
                found.append(name)
    return found


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as handle:
            return handle.read(65536)
    except OSError:
        return ""


SCRIPT_PATH = re.compile(r"""(?:\$\{\w+:-([^}]+)\}|(?<![\w$]))(/[\w./-]+\.sh)\b""")


def _run_text(run: str) -> str:
    """A run script and the shell scripts it names by path (rsyslog's run starts ``start_logger.sh``)."""
    text = _read(run)
    called = ((default or "") + path for default, path in SCRIPT_PATH.findall(text))
    return "\n".join([text, *(_read(path) for path in called)])


def _service_needs(name: str, service: str) -> dict[str, str]:
    """Folder -> who writes it, for one runit service: runsv its supervise/, and the programs it starts."""
    needs = {}
    for folder in (service, os.path.join(service, "log")):
        supervise = os.path.join(folder, "supervise")
        if os.path.isdir(folder):
            where = supervise if os.path.isdir(supervise) else folder
            needs[where] = "runsv, for the service " + name
    for program in service_programs(_run_text(os.path.join(service, "run"))):
        for path in SERVICE_FOLDERS[program]:
            needs.setdefault(path, program + ", started by the service " + name)
    return needs


def start_scripts() -> dict[str, list[str]]:
    """Each runit service's run script, and the AZUREML_EXTRA_* install variables it reads.

    Microsoft's run script reads them in one if/elif chain; today's minimal images delete that chain from
    their copy (``sed -i '66,148d'``), so an empty list says the image installs nothing at start.
    """
    if not os.path.isdir(RUNIT):
        return {}
    found = {}
    for name in sorted(os.listdir(RUNIT)):
        run = os.path.join(RUNIT, name, "run")
        if os.path.isfile(run):
            text = _read(run)
            found[run] = sorted(set(re.findall(r"AZUREML_EXTRA_[A-Z_]+", text)))
    return found


# a command line of a run script that runs pip (pip show, pip install, python -m pip ...), not a comment
PIP_COMMAND = re.compile(
    r"^(?!\s*#).*(?:^|[\s;|&($])(?:python3? -m )?pip3?\s+(show|install|freeze|list)\b"
)


def pip_at_start() -> dict[str, int]:
    """Each runit run script that runs pip as the container starts, and the line it first does (Microsoft's
    checks for the server with ``pip show`` and stops with exit 100 when that finds nothing)."""
    if not os.path.isdir(RUNIT):
        return {}
    found = {}
    for name in sorted(os.listdir(RUNIT)):
        run = os.path.join(RUNIT, name, "run")
        lines = _read(run).splitlines() if os.path.isfile(run) else []
        first = next((n for n, line in enumerate(lines, 1) if PIP_COMMAND.search(line)), None)
        if first is not None:
            found[run] = first
    return found


def runtime_folders() -> list[RuntimeFolderDoc]:
    """Under runit: each folder a service writes as the runtime user, who writes it, and whether it can."""
    if not os.path.isdir(RUNIT):
        return []
    needs: dict[str, str] = {}
    for name in sorted(os.listdir(RUNIT)):
        service = os.path.join(RUNIT, name)
        if os.path.isdir(service):
            for path, writer in _service_needs(name, service).items():
                needs.setdefault(path, writer)
    return [
        {
            "path": path,
            "exists": os.path.isdir(path),
            "writable": os.access(path, os.W_OK | os.X_OK),
            "owner": _owner(path),
            "needed_by": writer,
        }
        for path, writer in needs.items()
    ]
