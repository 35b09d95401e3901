"""Reading the cause of a failed start from the server's log, and its restarts."""

from __future__ import annotations

from pytest_amlimage.endpoint import diagnosis

INIT_FAILED = """2026-11-24 00:03:29,435 I [9] gunicorn.error - Booting worker with pid: 9
2026-11-24 00:03:29,791 E [9] azmlinfsrv - User's init function failed
2026-11-24 00:03:29,792 E [9] azmlinfsrv - Encountered Exception Traceback (most recent call last):
  File "/var/azureml-app/app/score.py", line 2, in init
    raise RuntimeError("model file corrupted: cannot load weights")
RuntimeError: model file corrupted: cannot load weights
The above exception was the direct cause of the following exception:
Traceback (most recent call last):
azureml_inference_server_http.server.user_script.UserScriptException: Caught an unhandled exception from the user script
2026-11-24 00:03:29,920 E [8] gunicorn.error - Worker (pid:9) exited with code 3.
"""
IMPORT_FAILED = """2026-11-24 00:01:35,600 E [9] azmlinfsrv - Traceback (most recent call last):
  File "/var/azureml-app/score.py", line 3, in <module>
    from bs4 import BeautifulSoup
ModuleNotFoundError: No module named 'bs4'
The above exception was the direct cause of the following exception:
azureml_inference_server_http.server.user_script.UserScriptImportException: Failed to import user script
"""


def test_init_raised_names_the_users_exception() -> None:
    assert (
        diagnosis.cause(INIT_FAILED, 111)
        == "init() raised: RuntimeError: model file corrupted: cannot load weights"
    )


def test_import_failure_names_the_module() -> None:
    assert (
        diagnosis.fatal(IMPORT_FAILED)
        == "importing the entry script failed: ModuleNotFoundError: No module named 'bs4'"
    )


def test_configuration_runit_permission_and_exit_codes() -> None:
    config = "===Configuration Error===\nWORKER_COUNT: value is not a valid integer\n"
    assert (
        diagnosis.fatal(config) == "configuration error: WORKER_COUNT: value is not a valid integer"
    )
    runit = "runsv azmlinfsrv: fatal: unable to open supervise/lock: file does not exist\n"
    assert diagnosis.fatal(runit) == (
        "runsv cannot write /var/runit/azmlinfsrv/supervise (unable to open supervise/lock): the service "
        "azmlinfsrv never starts; as root: RUN chown -R dockeruser /var/runit/azmlinfsrv"
    )
    runsvdir = "runsvdir: fatal: unable to open /var/runit: access denied\n"
    assert diagnosis.fatal(runsvdir) == f"runit cannot supervise the server: {runsvdir.strip()}"
    missing = "./run: 5: exec: azmlinfsrv: not found\nazmlinfsrv exited with code 127; stopping the container\n"
    assert diagnosis.cause(missing, 111) == (
        "the start script cannot find azmlinfsrv on PATH: is it installed in the environment, "
        "and is the python its #! line names there?"
    )
    moved = "exec /srv/venv/bin/azmlinfsrv: no such file or directory\n"  # the runtime's, for CMD itself
    assert diagnosis.cause(moved, 1) == (
        "the start command cannot run /srv/venv/bin/azmlinfsrv: it, or the python its #! line names, is not there"
    )
    crash = 'Traceback (most recent call last):\n  File "amlserver.py", line 210, in run\n'
    crash += "ValueError: invalid literal for int() with base 10: 'two'\n"
    expected = (
        "the server crashed at start: ValueError: invalid literal for int() with base 10: 'two'"
    )
    assert diagnosis.cause(crash, 111) == expected
    denied = "PermissionError: [Errno 13] Permission denied: '/var/azureml-app/out.csv'\n"
    assert diagnosis.fatal(denied) is None  # not fatal by itself: it may be a warning
    assert (
        diagnosis.cause(denied)
        == "permission denied: Permission denied: '/var/azureml-app/out.csv'"
    )
    assert (
        diagnosis.cause("", 137)
        == "the container was killed (exit code 137: out of memory, or stopped)"
    )
    assert diagnosis.cause("all fine", None) is None


def test_a_second_start_or_an_extra_worker_is_a_restart() -> None:
    one = "Starting gunicorn 27\nBooting worker with pid: 9\n"
    assert diagnosis.restarts(one, workers=1) is None
    assert (
        diagnosis.restarts(one * 2, workers=1)
        == "the server started 2 times: the supervisor restarts it after it dies"
    )
    two_workers = "Starting gunicorn 27\nBooting worker with pid: 9\nBooting worker with pid: 10\n"
    assert diagnosis.restarts(two_workers, workers=2) is None
    assert (
        diagnosis.restarts(two_workers, workers=1)
        == "2 workers booted for 1 slot(s): a worker died and was replaced"
    )


RUN = "2026-12-02T12:00:00,000000000+00:00 | gunicorn/run | "
FINISH = "2026-12-02T12:00:01,000000000+00:00 - Exit code {code} is not normal. Killing image.\n"


def test_the_start_scripts_own_reason_comes_before_the_supervisors_exit_code() -> None:
    """Azure ML's gunicorn/run stops before the server (exit 94 to 99); finish then stops runsvdir (111)."""
    missing = "/var/azureml-app/app/requirements.txt"
    log = (
        f"{RUN}Dynamic Python packages installation is enabled but expected requirements file not "
        f"found: {missing}. Exiting with error ...\n" + FINISH.format(code=99)
    )
    found = diagnosis.cause(log, 111)
    assert found is not None and found.startswith(
        f"the start script found no requirements file at {missing} (AZUREML_EXTRA_REQUIREMENTS_TXT"
    )
    assert diagnosis.fatal(log) == found  # the wait stops as soon as the log says it


def test_a_failed_install_names_pips_error() -> None:
    log = (
        f"{RUN}Installing Python packages from /var/azureml-app/requirements.txt !\n"
        "ERROR: Could not find a version that satisfies the requirement nosuch==9 (from versions: none)\n"
        "ERROR: No matching distribution found for nosuch==9\n"
        "Error occurred. Sleeping to send error logs.\n"
    )
    assert diagnosis.fatal(log) == (
        "the start script's install of the extra packages failed: "
        "ERROR: No matching distribution found for nosuch==9"
    )


def test_the_finish_script_names_the_servers_exit_code_not_runsvdirs() -> None:
    found = diagnosis.cause(FINISH.format(code=3), 111)
    assert found == (
        "the server stopped: the server's start-up failed (exit code 3); "
        "the image's runit finish script then stopped the container"
    )
    # nothing said: the exit code alone is shown by the caller
    assert diagnosis.cause("", 111) is None


def test_a_worker_killed_while_scoring_is_named() -> None:
    timeout = "[2026-12-02 12:00:05 +0000] [8] [CRITICAL] WORKER TIMEOUT (pid:20)\n"
    found = diagnosis.scoring_cause(timeout, {"WORKER_TIMEOUT": "5"})
    assert found is not None and found.startswith("the worker was killed after WORKER_TIMEOUT=5 s")
    oom = "[ERROR] Worker (pid:20) was sent SIGKILL! Perhaps out of memory?\n"
    assert "most likely out of memory" in (diagnosis.scoring_cause(oom, {}) or "")
    crash = "[ERROR] Worker (pid:20) was sent SIGSEGV!\n"
    assert "died of SIGSEGV" in (diagnosis.scoring_cause(crash, {}) or "")
    assert diagnosis.scoring_cause("", {}, 500, b"Internal Server Error") is None


def test_nginx_answers_name_their_limit() -> None:
    page = b"<html><center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></html>"
    assert (diagnosis.scoring_cause("", {}, 504, page) or "").startswith("nginx gave up waiting")
    assert "client_max_body_size" in (diagnosis.scoring_cause("", {}, 413, b"nginx") or "")


def test_a_network_failure_names_the_error_and_the_host_where_the_log_has_it() -> None:
    requests_style = (
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='huggingface.co', port=443): Max retries "
        "exceeded with url: /bert (Caused by NameResolutionError: Temporary failure in name resolution)\n"
    )
    assert (
        diagnosis.network_cause(requests_style)
        == "Temporary failure in name resolution (reaching huggingface.co)"
    )
    urllib_style = "urllib.error.URLError: <urlopen error [Errno 101] Network is unreachable>\n"
    assert diagnosis.network_cause(urllib_style) == "Network is unreachable"
    assert diagnosis.network_cause("all is well\n") is None


def test_a_container_that_stopped_with_code_0_never_reads_as_success() -> None:
    from pytest_amlimage.endpoint.scoring import stopped

    assert "runsvdir ended (exit code 0) after a service's finish script stopped it" in stopped(
        0, True
    )
    assert "exited with code 0" not in stopped(0, True) + stopped(0, False)
    assert stopped(0, False).startswith("the container's command ended (exit code 0)")
    assert stopped(3, True) == "the container exited with code 3 before the server answered GET /"
