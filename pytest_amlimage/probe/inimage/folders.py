"""Which folders the runtime user can read or write (a part of the probe script; in the image, Python 3.7+).

The app root and the model must be readable; under runit, the folders the supervisor and the
server write at start must be writable (the troubleshooting doc's "can't boot up" list).
"""

from __future__ import annotations

import os
from typing import Any

WALK_LIMIT = 5000
RUNIT = "/var/runit"
RUNTIME_FOLDERS = ("/var/log", "/run", "/var/lib/nginx")


def folder_access(path: str | None) -> dict[str, Any]:
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


def runtime_folders() -> list[dict[str, Any]]:
    """Under runit: /var/runit, each service folder (runsv creates supervise/ there) and the logs' folders."""
    if not os.path.isdir(RUNIT):
        return []
    services = [os.path.join(RUNIT, name) for name in sorted(os.listdir(RUNIT))]
    services = [path for path in services if os.path.isdir(path)]
    supervise = [os.path.join(path, "supervise") for path in services]
    folders = [RUNIT, *services, *(p for p in supervise if os.path.isdir(p)), *RUNTIME_FOLDERS]
    return [
        {"path": path, "writable": os.access(path, os.W_OK | os.X_OK), "owner": _owner(path)}
        for path in folders
        if os.path.isdir(path)
    ]
