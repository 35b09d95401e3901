"""The Azure ML images' own layout (stand-in nginx-runit): nginx on 5001 in front of the server on 31311,
both under runit, the run script's steps and exit codes, a finish script that stops the container.

Good images stay green on it; each broken one fails the check that names the cause and the symptom the
endpoint would see, each with the cause in its first line, and the checks that need a server skip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .conftest import APPS, deployment_yaml, expect, green, run_built

pytestmark = pytest.mark.engine
SAMPLES = APPS.parent / "samples"
SERVING = ["probe-budget", "bad-request", "swagger", "stable"]


def deployment(
    pytester: pytest.Pytester, images: dict[str, str], app: str, variables: str = ""
) -> str:
    return deployment_yaml(pytester, images["nginx-runit"], app, variables)


def as_root(run_plugin: Any, pytester: pytest.Pytester, base: str, step: str, *app: str) -> Any:
    """The plugin on ``base`` built again with one ``RUN`` step as root, back to dockeruser after it."""
    dockerfile = f"FROM {base}\nUSER root:root\nRUN {step}\nUSER dockeruser\n"
    return run_built(run_plugin, pytester, dockerfile, *app)


def rooted(run_plugin: Any, pytester: pytest.Pytester, base: str, folders: str, *app: str) -> Any:
    """The plugin on ``base`` built again with ``folders`` owned by root, as a careless root step leaves them."""
    return as_root(run_plugin, pytester, base, f"chown -R root:root {folders}", *app)


WORKING = (
    f"--aml-entry-script={APPS / 'working' / 'score.py'}",
    f"--aml-model-dir={APPS / 'model'}",
)


def test_a_good_image_is_green_behind_nginx(run_plugin: Any, images: dict[str, str]) -> None:
    """502 from nginx while init() runs is "not ready yet"; the run script's --port 31311 is not the endpoint's."""
    result = run_plugin(
        "--aml-image",
        images["nginx-runit"],
        f"--aml-entry-script={APPS / 'working' / 'score.py'}",
        f"--aml-model-dir={APPS / 'model'}",
        f"--aml-sample={SAMPLES}",
    )
    green(
        result, "app-permissions", "server", "liveness", "score[numbers]", "concurrency", "stable"
    )


def test_a_missing_requirements_file_is_named_by_the_start_scripts_own_reason(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    variables = "  AZUREML_EXTRA_REQUIREMENTS_TXT: requirements.txt\n"
    result = run_plugin(deployment(pytester, images, "working", variables), "-rs")
    expect(result, failed=["liveness"], skipped=SERVING, passed=["app-permissions", "entry-script"])
    result.stdout.fnmatch_lines(
        [
            "*liveness: the start script found no requirements file at "
            "/var/azureml-app/working/./requirements.txt (AZUREML_EXTRA_REQUIREMENTS_TXT*",
            "SKIPPED * not run: liveness failed: the start script found no requirements file at *",
        ]
    )
    result.stdout.no_fnmatch_line("*liveness: the supervisor*")
    # the finish script stopped the container: no waiting out the budget
    assert result.duration < 30


@pytest.mark.parametrize(
    ("folder", "said"),
    [
        ("/var/log/nginx", "nginx cannot open /var/log/nginx/error.log (13: Permission denied)"),
        ("/var/lib/nginx", "nginx cannot create /var/lib/nginx/body (13: Permission denied)"),
    ],
)
def test_an_nginx_folder_handed_back_to_root_is_named_with_its_chown(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], folder: str, said: str
) -> None:
    result = rooted(run_plugin, pytester, images["nginx-runit"], folder, *WORKING)
    expect(result, failed=["app-permissions", "liveness"], skipped=SERVING, passed=["non-root"])
    fix = f"as root: RUN chown -R dockeruser {folder}"
    result.stdout.fnmatch_lines_random(
        [
            f"*app-permissions: {folder} is not writable by uid 1000 (owner uid 0), but nginx, "
            f"started by the service nginx writes there: {fix}",
            f"*liveness: {said}: the runtime user does not own {folder}; {fix}*",
        ]
    )
    # nginx's finish script ends runsvdir: code 0, told as the stop it is, never as success
    assert "exited with code 0" not in result.stdout.str()
    assert "runsvdir ended (exit code 0) after a service's finish script" in result.stdout.str()


def test_runit_folders_handed_back_to_root_name_runsvs_supervise_folder(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = rooted(run_plugin, pytester, images["nginx-runit"], "/var/runit", *WORKING)
    expect(result, failed=["app-permissions", "liveness"], skipped=SERVING)
    result.stdout.fnmatch_lines_random(
        [
            "*app-permissions: /var/runit/gunicorn is not writable by uid 1000 (owner uid 0), but runsv, for "
            "the service gunicorn writes there: as root: RUN chown -R dockeruser /var/runit/gunicorn",
            "*liveness: runsv cannot write /var/runit/*/supervise (unable to open supervise/lock): the "
            "service * never starts; as root: RUN chown -R dockeruser /var/runit/*",
            "the container's log says: runsv cannot write /var/runit/*",
        ]
    )


def test_a_removed_server_stops_the_start_script_with_exit_100(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    step = "pip uninstall -y -q azureml-inference-server-http"
    result = as_root(run_plugin, pytester, images["nginx-runit"], step, *WORKING)
    expect(result, failed=["server", "liveness"], skipped=SERVING)
    result.stdout.fnmatch_lines(
        [
            "*liveness: the start script found no azureml-inference-server-http in the environment that "
            "serves (exit code 100): pip install azureml-inference-server-http in the image's environment*"
        ]
    )
    assert result.duration < 60  # the finish script ended the container: no waiting out the budget


def test_two_install_variables_are_told_apart(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """The library folder is taken, so the requirements file the entry script needs is never installed."""
    variables = "  AZUREML_EXTRA_PYTHON_LIB_PATH: libs\n  AZUREML_EXTRA_REQUIREMENTS_TXT: requirements.txt\n"
    result = run_plugin(
        deployment(pytester, images, "extra_chain", variables), "-k", "liveness or platform"
    )
    expect(result, failed=["liveness"], passed=["platform"])
    ignored = (
        "AZUREML_EXTRA_REQUIREMENTS_TXT is ignored: the start script takes one branch of installs, and "
        "AZUREML_EXTRA_PYTHON_LIB_PATH, set too, comes first"
    )
    result.stdout.fnmatch_lines_random(
        [
            "*liveness: importing the entry script failed: ModuleNotFoundError: No module named 'tabulate'; "
            f"{ignored}",
            "*platform: AZUREML_EXTRA_PYTHON_LIB_PATH (by the deployment), AZUREML_EXTRA_REQUIREMENTS_TXT (by "
            f"the deployment): a v1-only preview*{ignored}",
        ]
    )


def test_a_run_slower_than_worker_timeout_behind_nginx(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    (pytester.path / "request.json").write_text('{"data": [1]}')
    variables = "  RUN_SECONDS: '4'\n  WORKER_TIMEOUT: '2'\nrequest_settings:\n  request_timeout_ms: 60000\n"
    result = run_plugin(
        deployment(pytester, images, "slow_run", variables),
        "--aml-sample=request.json",
        "-k",
        "score",
    )
    expect(result, failed=["score[request]"])
    result.stdout.fnmatch_lines(
        ["*score?request?: the worker was killed after WORKER_TIMEOUT=2 s*"]
    )


def test_a_server_alone_under_runit_needs_no_log_or_run_folder(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """Only the services' folders are demanded: without nginx or rsyslog, root's /var/log and /run are fine."""
    app = f"--aml-entry-script={APPS / 'decorated' / 'score.py'}"
    result = rooted(run_plugin, pytester, images["minimal"], "/var/log /run", app)
    green(result, "app-permissions", "liveness", "stable")


def test_a_model_made_by_a_run_step_is_found_in_the_built_image(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """No COPY fills AZUREML_MODEL_DIR, but the built image has it: the image is the witness."""
    code = Path(pytester.path / "code")
    code.mkdir()
    (code / "score.py").write_text((APPS / "decorated" / "score.py").read_text())
    dockerfile = (
        f"FROM {images['minimal']}\nCOPY code /var/azureml-app\nENV AZUREML_ENTRY_SCRIPT=score.py\n"
        "RUN mkdir -p /var/azureml-app/azureml-models/made && echo '{}' > /var/azureml-app/azureml-models/made/m.json\n"
        "ENV AZUREML_MODEL_DIR=/var/azureml-app/azureml-models/made\n"
    )
    result = run_built(run_plugin, pytester, dockerfile)
    green(result, "dockerfile[entry-paths]", "dockerfile[last-user]", "liveness")


def test_a_worker_crash_is_named_through_nginx(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    (pytester.path / "request.json").write_text('{"data": [1]}')
    result = run_plugin(
        deployment(pytester, images, "crashes"), "--aml-sample=request.json", "-k", "score"
    )
    expect(result, failed=["score[request]"])
    result.stdout.fnmatch_lines(["*score?request?: the worker died of SIGSEGV while scoring*"])
