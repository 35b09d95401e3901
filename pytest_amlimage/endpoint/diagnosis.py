"""Why the server did not come up, read from its log and exit code; and whether it restarted.

Pure functions of text, so that the first line of a failure names the cause and the wait for a
server that cannot start ends as soon as its log says so. The markers are what
azureml-inference-server-http (and gunicorn and runit under it) write.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pytest_amlimage.endpoint import start_script
from pytest_amlimage.endpoint.start_script import Runtime

UNKNOWN = Runtime()
GUNICORN_START = "Starting gunicorn"
WORKER_BOOT = re.compile(r"Booting worker with pid")
EXIT_CODES = {
    3: "the server's start-up failed (exit code 3)",
    **start_script.EXIT_CODES,
    137: "the container was killed (exit code 137: out of memory, or stopped)",
    127: "the start command was not found (exit code 127)",
}
# nginx could not start (it listens on 5001)
NGINX_EMERG = re.compile(r"\[emerg\] \d+#\d+: ([^\n]*)")
FINISH = re.compile(r"Exit code (\d+) is not normal\. Killing image")


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*$", re.MULTILINE)
SERVER_WRAPPERS = (
    "azureml_inference_server_http",
    "UserScriptException",
    "UserScriptImportException",
)


def user_exception(log: str) -> str | None:
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
UNREAD = "see the traceback below"  # the exception's own line is not (yet) in the log
IMPORT_ERROR = re.compile(r"(ModuleNotFoundError|ImportError)\b")
RUNIT_FATAL = re.compile(r"^.*runsv(dir)?[^\n]*(fatal|unable to)[^\n]*$", re.MULTILINE)
# dash's, also for a script whose #! python is gone
NOT_FOUND = re.compile(r"exec: (\S+): not found")
# the runtime's, for the container's own command
NO_FILE = re.compile(r"exec (\S+): no such file or directory")
PERMISSION = re.compile(r"(?:Permission denied|access denied)[^\n]*", re.IGNORECASE)


def fatal(log: str, runtime: Runtime = UNKNOWN) -> str | None:
    """A cause the server cannot recover from, as soon as the log shows it (no need to wait any longer)."""
    found = (
        start_script.stopped(log, runtime)
        or start_script.ownership(log, runtime)
        or _configuration_error(log)
    )
    if found:
        return found
    for marker, text in CAUSES:
        if marker in log:
            exception = user_exception(log) or UNREAD
            ignored = (
                start_script.ignored_line(runtime.env) if IMPORT_ERROR.match(exception) else None
            )
            return text.format(exception=exception) + (f"; {ignored}" if ignored else "")
    nginx = NGINX_EMERG.search(log)
    if nginx:
        return (
            f"nginx, which answers on the endpoint's port, cannot start: {nginx.group(1).strip()}"
        )
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


def cause(log: str, exit_code: int | None = None, runtime: Runtime = UNKNOWN) -> str | None:
    """The first-line reason the server did not come up, or None when neither log nor exit code says."""
    denied = PERMISSION.search(log)
    crashed = user_exception(log) if "Traceback (most recent call last)" in log else None
    return (
        fatal(log, runtime)
        or (
            f"the server crashed at start: {crashed}" if crashed and exit_code is not None else None
        )
        or (f"permission denied: {denied.group(0).strip()}" if denied else None)
        or _finished(log)
        or (EXIT_CODES.get(exit_code) if exit_code is not None else None)
    )


def _finished(log: str) -> str | None:
    """runit's finish script stopped the whole container (runsvdir's 111): the code it names is the server's."""
    found = FINISH.search(log)
    if found is None:
        return None
    server = int(found.group(1))
    meaning = EXIT_CODES.get(server, f"exit code {server}")
    return (
        f"the server stopped: {meaning}; the image's runit finish script then stopped the container"
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


WORKER_TIMEOUT = re.compile(r"WORKER TIMEOUT \(pid:\d+\)")
WORKER_SIGNAL = re.compile(r"Worker \(pid:\d+\) was sent (SIG\w+)!")
WORKER_EXIT = re.compile(r"Worker \(pid:\d+\) exited with code (\d+)")
NGINX = {
    502: "nginx could not reach the server behind it (502): the server or its worker died",
    504: "nginx gave up waiting for the server (504, after its proxy_read_timeout: 1000 s in Azure ML's "
    "images): make run() faster",
    413: "the request body is over nginx's limit (413, client_max_body_size: 100m in Azure ML's images): "
    "send less per request",
}


INIT_DONE = "init has completed successfully"  # the server, once per worker


def inits_done(log: str) -> int:
    """How many workers have finished init()."""
    return log.count(INIT_DONE)


def killed_for_memory(log: str) -> bool:
    """gunicorn says a worker was killed by SIGKILL: the kernel's out-of-memory killer, at the cgroup's limit."""
    return any(found.group(1) == "SIGKILL" for found in WORKER_SIGNAL.finditer(log))


def scoring_cause(
    log: str, env: Mapping[str, str], status: int | None = None, body: bytes = b""
) -> str | None:
    """Why a scoring request failed, from the server's log (gunicorn's word on its worker) and nginx's answer."""
    if WORKER_TIMEOUT.search(log):
        seconds = env.get("WORKER_TIMEOUT") or "300"
        return (
            f"the worker was killed after WORKER_TIMEOUT={seconds} s (gunicorn's WORKER TIMEOUT): run() took "
            "longer; make it faster, or raise WORKER_TIMEOUT in the deployment's environment_variables"
        )
    signal, exited = WORKER_SIGNAL.search(log), WORKER_EXIT.search(log)
    if signal and signal.group(1) == "SIGKILL":
        return (
            "the worker was killed (SIGKILL) while scoring, most likely out of memory: give the container "
            "more memory (a larger instance_type; --aml-memory here), or make run() use less"
        )
    if signal:
        return f"the worker died of {signal.group(1)} while scoring: a crash in native code (a C extension)"
    if exited:
        return f"the worker exited with code {exited.group(1)} while scoring (run() or a library called exit())"
    return NGINX.get(status or 0) if b"nginx" in body else None


NETWORK_ERRORS = re.compile(
    r"(Temporary failure in name resolution|Name or service not known|Network is unreachable|"
    r"No route to host|Connection refused|timed out|Failed to establish a new connection)",
    re.IGNORECASE,
)
HOST = re.compile(r"host='([^']+)'|https?://([^/\s'\"]+)")


def network_cause(log: str) -> str | None:
    """What the server tried to reach without a network, and the error: name resolution, no route, ..."""
    found = NETWORK_ERRORS.search(log)
    if found is None:
        return None
    host = unreached(log)
    return found.group(1) + (f" (reaching {host})" if host else "")


def unreached(log: str) -> str | None:
    """The host the log's first network error was about, named near it (a URL, or urllib3's host='...')."""
    found = NETWORK_ERRORS.search(log)
    if found is None:
        return None
    line_end = log.find("\n", found.end())
    around = log[max(0, found.start() - 2000) : line_end if line_end >= 0 else len(log)]
    hosts = [named or url for named, url in HOST.findall(around)]
    return hosts[-1] if hosts else None
