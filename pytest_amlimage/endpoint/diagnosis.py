"""Why the server did not come up, read from its log and exit code; and whether it restarted.

Pure functions of text, so that the first line of a failure names the cause and the wait for a
server that cannot start ends as soon as its log says so. The markers are what
azureml-inference-server-http (and gunicorn and runit under it) write.
"""

from __future__ import annotations

import re

SERVER_STARTS = re.compile(r"Starting gunicorn|Azure ML Inferencing HTTP server v", re.IGNORECASE)
GUNICORN_START = "Starting gunicorn"
WORKER_BOOT = re.compile(r"Booting worker with pid")
EXIT_CODES = {
    3: "the server's start-up failed (exit code 3)",
    111: "the supervisor stopped the container after the server exited (exit code 111)",
    137: "the container was killed (exit code 137: out of memory, or stopped)",
    127: "the start command was not found (exit code 127)",
}


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*$", re.MULTILINE)
SERVER_WRAPPERS = (
    "azureml_inference_server_http",
    "UserScriptException",
    "UserScriptImportException",
)


def _user_exception(log: str) -> str | None:
    """The user's own exception: the last exception line that is not one of the server's wrappers."""
    found = [m.group(0).strip() for m in EXCEPTION_LINE.finditer(log)]
    mine = [line for line in found if not any(w in line.split(":")[0] for w in SERVER_WRAPPERS)]
    return mine[-1] if mine else None


def _configuration_error(log: str) -> str | None:
    start = log.find("===Configuration Error===")
    if start < 0:
        return None
    detail = [line.strip() for line in log[start:].splitlines()[1:4] if line.strip()]
    return "configuration error: " + ("; ".join(detail) or "see the log")


CAUSES: tuple[tuple[str, str], ...] = (
    ("User's init function failed", "init() raised: {exception}"),
    ("Failed to import user script", "importing the entry script failed: {exception}"),
    ("UserScriptImportException", "importing the entry script failed: {exception}"),
    ("No score script found", "no entry script found: check AZUREML_ENTRY_SCRIPT and AML_APP_ROOT"),
    (
        "WORKER TIMEOUT",
        "a worker timed out (WORKER_TIMEOUT): init() or run() took longer than the server allows",
    ),
)
RUNIT_FATAL = re.compile(r"^.*runsv(dir)?[^\n]*(fatal|unable to)[^\n]*$", re.MULTILINE)
# dash's, also for a script whose #! python is gone
NOT_FOUND = re.compile(r"exec: (\S+): not found")
# the runtime's, for the container's own command
NO_FILE = re.compile(r"exec (\S+): no such file or directory")
PERMISSION = re.compile(r"(?:Permission denied|access denied)[^\n]*", re.IGNORECASE)


def fatal(log: str) -> str | None:
    """A cause the server cannot recover from, as soon as the log shows it (no need to wait any longer)."""
    found = _configuration_error(log)
    if found:
        return found
    for marker, text in CAUSES:
        if marker in log:
            return text.format(exception=_user_exception(log) or "see the traceback below")
    runit = RUNIT_FATAL.search(log)
    if runit:
        return f"runit cannot supervise the server: {runit.group(0).strip()}"
    missing, no_file = NOT_FOUND.search(log), NO_FILE.search(log)
    if no_file:
        return f"the start command cannot run {no_file.group(1)}: it, or the python its #! line names, is not there"
    return (
        f"the start script cannot find {missing.group(1)} on PATH: is it installed in the environment, "
        "and is the python its #! line names there?"
        if missing
        else None
    )


def cause(log: str, exit_code: int | None = None) -> str | None:
    """The first-line reason the server did not come up, or None when neither log nor exit code says."""
    denied = PERMISSION.search(log)
    crashed = _user_exception(log) if "Traceback (most recent call last)" in log else None
    return (
        fatal(log)
        or (
            f"the server crashed at start: {crashed}" if crashed and exit_code is not None else None
        )
        or (f"permission denied: {denied.group(0).strip()}" if denied else None)
        or (EXIT_CODES.get(exit_code) if exit_code is not None else None)
    )


def restarts(log: str, workers: int) -> str | None:
    """The server started more than once, or booted more workers than it has: a crash loop."""
    starts = log.count(GUNICORN_START)
    if starts > 1:
        return f"the server started {starts} times: the supervisor restarts it after it dies"
    boots = len(WORKER_BOOT.findall(log))
    if boots > workers:
        return f"{boots} workers booted for {workers} slot(s): a worker died and was replaced"
    return None
