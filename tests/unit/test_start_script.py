"""Azure ML's runit run script as Microsoft publishes it: its stops, its one branch of installs, and the
ownership errors grant_ownership.sh names, read from the log."""

from __future__ import annotations

import pytest

from pytest_amlimage.endpoint import diagnosis, start_script
from pytest_amlimage.endpoint.start_script import Runtime

SAY = "2026-12-03T18:49:41,700047489+00:00 | gunicorn/run | "
MISSING_SERVER = (
    f"{SAY}A required package azureml-inference-server-http is missing. Please install "
    "azureml-inference-server-http before trying again\n"
)
NO_CONDA_FILE = (
    f"{SAY}Dynamic Python packages installation is enabled but expected conda yaml file not found: "
    "{0}. Exiting with error ...\n"
)


def test_a_missing_server_is_exit_100_in_the_log_and_in_the_code() -> None:
    assert diagnosis.fatal(MISSING_SERVER) == (
        "the start script found no azureml-inference-server-http in the environment that serves (exit code "
        "100): pip install azureml-inference-server-http in the image's environment"
    )
    finished = "2026-12-03T18:49:41 - Exit code 100 is not normal. Killing image.\n"
    assert "exit code 100" in (diagnosis.cause(finished, 111) or "")


@pytest.mark.parametrize("stderr_first", [True, False])
def test_pip_removed_is_named_as_the_cause_of_exit_100_in_either_log_order(
    stderr_first: bool,
) -> None:
    """bash's own line reaches the log before or after the script's: the cause is pip, either way."""
    missing = "./run: line 25: pip: command not found\n"
    log = missing + MISSING_SERVER if stderr_first else MISSING_SERVER + missing
    assert (diagnosis.fatal(log) or "").startswith(
        "pip is not in the image, so the start script's `pip show azureml-inference-server-http` finds "
        "nothing and it stops with exit code 100"
    )


@pytest.mark.parametrize(
    ("env", "said"),
    [
        (
            {
                "AZUREML_EXTRA_CONDA_YAML_ABS_PATH": "/var/azureml-app/azureml-models/m/1/model/conda.yaml"
            },
            "AZUREML_EXTRA_CONDA_YAML_ABS_PATH, taken as it is",
        ),
        (
            {"AZUREML_EXTRA_CONDA_YAML": "env.yml"},
            "AZUREML_EXTRA_CONDA_YAML, read from the entry script's folder",
        ),
    ],
)
def test_exit_98_names_the_path_and_the_variable_it_came_from(
    env: dict[str, str], said: str
) -> None:
    path = env.get("AZUREML_EXTRA_CONDA_YAML_ABS_PATH") or "/var/azureml-app/./env.yml"
    assert diagnosis.fatal(NO_CONDA_FILE.format(path), Runtime(env)) == (
        f"the start script found no conda file at {path} ({said}): add the file there, or unset the variable"
    )


def test_only_the_first_branch_of_the_chain_is_taken() -> None:
    both = {
        "AZUREML_EXTRA_PYTHON_LIB_PATH": "libs",
        "AZUREML_EXTRA_REQUIREMENTS_TXT": "requirements.txt",
    }
    assert start_script.taken(both) == (
        "AZUREML_EXTRA_PYTHON_LIB_PATH",
        ["AZUREML_EXTRA_REQUIREMENTS_TXT"],
    )
    assert start_script.ignored_line(both) == (
        "AZUREML_EXTRA_REQUIREMENTS_TXT is ignored: the start script takes one branch of installs, and "
        "AZUREML_EXTRA_PYTHON_LIB_PATH, set too, comes first"
    )
    conda = {"AZUREML_EXTRA_CONDA_YAML": "a.yml", "AZUREML_EXTRA_CONDA_YAML_ABS_PATH": "/b.yml"}
    assert start_script.taken(conda) == (
        "AZUREML_EXTRA_CONDA_YAML_ABS_PATH",
        ["AZUREML_EXTRA_CONDA_YAML"],
    )
    assert start_script.ignored_line({"AZUREML_EXTRA_REQUIREMENTS_TXT": "r.txt"}) is None
    assert start_script.taken({"AZUREML_EXTRA_PYTHON_LIB_PATH": ""}) == (None, [])


def test_an_import_error_names_the_install_the_chain_skipped() -> None:
    log = (
        "2026-12-03 E [9] azmlinfsrv - Failed to import user script\nTraceback (most recent call last):\n"
        "ModuleNotFoundError: No module named 'bs4'\n"
    )
    both = {
        "AZUREML_EXTRA_PYTHON_LIB_PATH": "libs",
        "AZUREML_EXTRA_REQUIREMENTS_TXT": "requirements.txt",
    }
    assert diagnosis.fatal(log, Runtime(both)) == (
        "importing the entry script failed: ModuleNotFoundError: No module named 'bs4'; "
        "AZUREML_EXTRA_REQUIREMENTS_TXT is ignored: the start script takes one branch of installs, and "
        "AZUREML_EXTRA_PYTHON_LIB_PATH, set too, comes first"
    )
    assert (
        diagnosis.fatal(log)
        == "importing the entry script failed: ModuleNotFoundError: No module named 'bs4'"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            '2026/12/03 18:49:40 [emerg] 12#12: mkdir() "/var/lib/nginx/body" failed (13: Permission denied)',
            "nginx cannot create /var/lib/nginx/body (13: Permission denied): the runtime user does not own "
            "/var/lib/nginx; as root: RUN chown -R dockeruser /var/lib/nginx",
        ),
        (
            '2026/12/03 18:49:40 [emerg] 12#12: open() "/run/nginx.pid" failed (13: Permission denied)',
            "nginx cannot open /run/nginx.pid (13: Permission denied): the runtime user does not own /run; "
            "as root: RUN chown -R dockeruser /run",
        ),
        (
            'nginx: [alert] could not open error log file: open() "/var/log/nginx/error.log" failed '
            "(13: Permission denied)",
            "nginx cannot open /var/log/nginx/error.log (13: Permission denied): the runtime user does not own "
            "/var/log/nginx; as root: RUN chown -R dockeruser /var/log/nginx",
        ),
        (
            "runsv gunicorn: fatal: unable to open supervise/lock: file does not exist",
            "runsv cannot write /var/runit/gunicorn/supervise (unable to open supervise/lock): the service "
            "gunicorn never starts; as root: RUN chown -R dockeruser /var/runit/gunicorn",
        ),
        (
            "NotWritableError: The current user does not have write permissions to a required path.\n"
            "  path: /opt/miniconda/pkgs/urls.txt\n  uid: 1000",
            "conda cannot write /opt/miniconda/pkgs/urls.txt (NotWritableError) while the start script makes "
            "the environment; as root: RUN chown -R dockeruser /opt/miniconda",
        ),
    ],
)
def test_each_ownership_error_of_grant_ownership_is_named_with_its_chown(
    line: str, expected: str
) -> None:
    assert diagnosis.fatal(line + "\n", Runtime({}, "dockeruser:dockeruser")) == expected


def test_the_chown_names_the_images_own_user_and_service_folder() -> None:
    line = "runsv nginx: fatal: unable to open supervise/lock: file does not exist\n"
    found = start_script.ownership(line, Runtime({"SVDIR": "/etc/sv"}, "1000"))
    assert found is not None and found.endswith("RUN chown -R 1000 /etc/sv/nginx")
