"""Verdicts that hold on real images: the interpreter that serves, imports that really work, causes named."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import APPS, expect, green

pytestmark = pytest.mark.engine


def test_facts_come_from_the_interpreter_that_serves(
    run_plugin: Any, images: dict[str, str]
) -> None:
    """System Python first on PATH (the doc's apt pattern): versions are the server's, the apt module is not.

    A liveness verdict may end with the container's exit code, when the wait saw the exit first.
    """
    result = run_plugin("--aml-image", images["aptpython"], "--aml-expect", "numpy==1.26.4", "-rA")
    result.stdout.fnmatch_lines_random(
        [
            "PASSED *::version?numpy?",
            "*entry-script: the entry script /var/azureml-app/score.py:",
            "`import bs4` does not resolve: it is installed for /usr/bin/python3 (apt's Python?), which the server "
            "does not run: install it with pip in the environment the server runs (/azureml-envs/minimal/bin/python*)",
            "*liveness: importing the entry script failed: ModuleNotFoundError: No module named 'bs4'*",
            "*: the server runs /azureml-envs/minimal/bin/python*, but `python` on PATH is /usr/bin/python3*",
        ]
    )


def test_installed_but_not_importable_fails_its_version_check(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-image", images["numpyabi"], "--aml-expect", "pandas>=2", "-k", "version or pip"
    )
    expect(result, failed=["version[pandas]"], passed=["pip-check"])
    result.stdout.fnmatch_lines(
        [
            "*version?pandas?: pandas 2.0.3 is installed but `import pandas` fails"
            "*ValueError: numpy.dtype size changed*"
        ]
    )


def test_runit_folder_owned_by_root_is_named_and_fails_at_once(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin("--aml-image", images["runitroot"], "-k", "permissions or liveness")
    expect(result, failed=["app-permissions", "liveness"])
    result.stdout.fnmatch_lines_random(
        [
            "*app-permissions: /var/runit/azmlinfsrv is not writable by uid 1000 (owner uid 0), but runsv, "
            "for the service azmlinfsrv writes there: as root: RUN chown -R dockeruser /var/runit/azmlinfsrv",
            "*liveness: runsv cannot write /var/runit/azmlinfsrv/supervise (unable to open supervise/lock): the "
            "service azmlinfsrv never starts; as root: RUN chown -R dockeruser /var/runit/azmlinfsrv*",
        ]
    )
    assert result.duration < 30  # not the 310 s readiness timeout


def test_a_server_missing_from_the_serving_environment(
    run_plugin: Any, images: dict[str, str]
) -> None:
    # (-k server would select every check)
    result = run_plugin("--aml-image", images["noserver"], "-rA")
    result.stdout.fnmatch_lines_random(
        ["PASSED *::non-root", "PASSED *::entry-script", "FAILED *::server*"]
    )
    result.stdout.fnmatch_lines(
        ["*server: azureml-inference-server-http is not installed in the interpreter that serves*"]
    )


def test_an_environment_moved_after_pip_wrote_its_scripts(
    run_plugin: Any, images: dict[str, str]
) -> None:
    """The moved venv's python imports the server, so only its script's #! line shows it cannot start."""
    result = run_plugin("--aml-image", images["moved"], "-k", "server or liveness")
    expect(result, failed=["server", "liveness"])
    result.stdout.fnmatch_lines_random(
        [
            "*server: /opt/env/bin/azmlinfsrv cannot start: its first line '#!/azureml-envs/minimal/bin/python*' "
            "names /azureml-envs/minimal/bin/python*, which is not in the image*",
            "*liveness: the start script cannot find azmlinfsrv on PATH: is it installed in the environment, "
            "and is the python its #! line names there?*",
        ]
    )


def test_a_crash_loop_under_a_restarting_supervisor_stops_the_wait(
    run_plugin: Any, images: dict[str, str]
) -> None:
    script = APPS / "init_raises" / "score.py"
    result = run_plugin(
        "--aml-image",
        images["restarting"],
        f"--aml-entry-script={script}",
        "-k",
        "liveness or stable",
    )
    expect(result, failed=["liveness"], skipped=["stable"])  # one cause, one failure
    result.stdout.fnmatch_lines(
        [
            "*liveness: init() raised: RuntimeError: model file corrupted: cannot load weights",
            "(stopped waiting for GET /: the log shows the server cannot come up)",
        ]
    )
    assert result.duration < 30


def test_entry_scripts_the_server_would_refuse(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makepyfile(
        score="import json\n\ndef init():\n    pass\n\ndef run(*args, **kwargs):\n    return {}\n"
    )
    # pytest's temporary folders are private: let the container's user read it
    pytester.path.chmod(0o755)
    result = run_plugin(
        "--aml-image",
        images["minimal"],
        f"--aml-entry-script={pytester.path / 'score.py'}",
        "-k",
        "entry",
    )
    expect(result, failed=["entry-script"])
    result.stdout.fnmatch_lines(
        ["*run() takes *args or **kwargs: the server refuses to start; give it named parameters"]
    )


def test_hazards_baked_into_the_image_config(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(
        "--aml-image", images["hazards"], "-k", "image-config or secrets or liveness"
    )
    expect(result, failed=["image-config", "secrets", "liveness"])
    result.stdout.fnmatch_lines_random(
        [
            "*image-config: WORKER_COUNT='two' is not a whole number: the server stops at start",
            "SERVER_PORT is set, but the server ignores it*",
            "*secrets: STORAGE_ACCOUNT_KEY looks like a secret baked into the image's configuration*",
            "*liveness: the server crashed at start: ValueError: invalid literal for int() with base 10: 'two'*",
        ]
    )


@pytest.mark.parametrize(
    ("standin", "python"), [("minimal-py39", "3.9."), ("minimal-py313", "3.13.")]
)
def test_good_images_across_pythons_and_server_lines_stay_green(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], standin: str, python: str
) -> None:
    """Debian bullseye's Python 3.9 with the server's 0.8 line, and trixie's Python 3.13 with 1.5."""
    check = f"assert aml_environment.python_version.startswith('{python}')"
    pytester.makepyfile(test_python=f"def test_python(aml_environment):\n    {check}\n")
    script, model, samples = APPS / "working" / "score.py", APPS / "model", APPS.parent / "samples"
    args = (
        f"--aml-entry-script={script}",
        f"--aml-model-dir={model}",
        f"--aml-sample={samples}",
        "-rA",
    )
    result = run_plugin("--aml-image", images[standin], "--aml-expect", "numpy>=1.26", *args)
    green(result, "server", "entry-script", "liveness", "score[numbers]", "concurrency")
    result.stdout.fnmatch_lines(["PASSED test_python.py::test_python*"])


def with_variable(pytester: pytest.Pytester, image: str, name: str, value: str) -> str:
    """``--aml-deployment`` for ``image`` with one environment variable set, as a deployment YAML sets it."""
    path = pytester.makefile(
        ".yml",
        deployment=f"environment:\n  image: {image}\nenvironment_variables:\n  {name}: {value}\n",
    )
    return f"--aml-deployment={path}"


def test_an_image_that_starts_azmlinfsrv_itself_is_served_and_its_script_read_from_the_servers_app_root(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """`CMD /env/bin/azmlinfsrv --entry_script /app/score.py`: no AZUREML_ENTRY_SCRIPT, yet the image serves.

    The python on PATH is apt's, without the server: the facts must come from the one the command runs.
    """
    result = run_plugin("--aml-image", images["byoc"], "-k", "entry or liveness or server", "-rA")
    expect(result, failed=["entry-script", "liveness"], passed=["server"])
    result.stdout.fnmatch_lines_random(
        [
            "PASSED *::server",  # read from the command's python: apt's on PATH has no server
            "*the server runs /azureml-envs/minimal/bin/python3, but `python` on PATH is /usr/bin/python3*",
        ]
    )
    result.stdout.fnmatch_lines_random(
        [
            "*entry-script: the entry script /app/score.py:",
            "`import helpers` does not resolve: it is beside the script in /app, but the server imports from / and "
            "/var/azureml-app, not its folder: set AML_APP_ROOT=/app",
            "*liveness: importing the entry script failed: ModuleNotFoundError: No module named 'helpers'*",
        ]
    )
    (pytester.path / "request.json").write_text('{"data": [[1, 2], [3]]}')
    fixed = with_variable(pytester, images["byoc"], "AML_APP_ROOT", "/app")
    result = run_plugin(fixed, f"--aml-sample={pytester.path / 'request.json'}", "-k", "score")
    expect(result, passed=["score[request]"])


def test_a_submodule_of_the_azureml_namespace_resolves_only_as_the_server_provides_it(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """`import azureml` resolves in this image; `azureml.contrib.services` does not, its aml_request does."""
    result = run_plugin("--aml-image", images["contrib"], "-k", "entry or liveness")
    expect(result, failed=["entry-script", "liveness"])
    result.stdout.fnmatch_lines_random(
        [
            "`import azureml.contrib.services` does not resolve: *",
            "  azureml-inference-server-http 1.4.1: the azureml.contrib.services package shim is gone*",
            "*liveness: importing the entry script failed: ModuleNotFoundError: No module named 'azureml.contrib'*",
        ]
    )
    aliased = with_variable(pytester, images["contrib"], "AZUREML_ENTRY_SCRIPT", "aliased.py")
    result = run_plugin(aliased, "-k", "entry or liveness")
    expect(result, passed=["entry-script", "liveness"])


def test_a_server_started_on_another_port_fails_liveness_at_once_with_the_reason(
    run_plugin: Any, images: dict[str, str]
) -> None:
    """Without the reason known up front, waiting for GET / would take the whole probe budget (310 s)."""
    command = "/azureml-envs/minimal/bin/azmlinfsrv --entry_script /app/score.py --port 8080"
    result = run_plugin("--aml-image", images["byoc"], "--aml-command", command, "-k", "liveness")
    expect(result, failed=["liveness"])
    result.stdout.fnmatch_lines(
        ["*liveness: the start command runs azmlinfsrv on port 8080, but the endpoint *"]
    )
