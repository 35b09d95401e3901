import re

import pytest

from pytest_amlimage.checks import server as server_checks
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Facts

SCRIPT = {
    "path": "/app/score.py",
    "exists": True,
    "functions": ["init", "run"],
    "searched": ["/", "/var/azureml-app"],
}
BESIDE = (
    "it is beside the script in /app, but the server imports from / and /var/azureml-app, "
    "not its folder: set AML_APP_ROOT=/app"
)
ELSEWHERE = "it is installed for /usr/bin/python3 (apt's Python?), which the server does not run"
NOWHERE = "it is neither installed in the environment the server runs (/env/bin/python) nor a module in its app root"


@pytest.mark.parametrize(
    ("found", "cause"),
    [
        ({"beside": ["helpers"]}, BESIDE),
        ({"elsewhere": {"helpers": "/usr/bin/python3"}}, ELSEWHERE),
        ({}, NOWHERE),
    ],
)
def test_an_import_that_does_not_resolve_names_its_cause(
    found: dict[str, object], cause: str
) -> None:
    facts = Facts(
        0,
        python_executable="/env/bin/python",
        entry_script={**SCRIPT, "missing": ["helpers"], **found},
    )
    with pytest.raises(CheckFailed, match=re.escape(f"`import helpers` does not resolve: {cause}")):
        server_checks.entry_script(facts)


def test_an_import_the_server_took_away_names_the_change() -> None:
    missing = {"missing": ["azureml.contrib.services"], "searched": ["/var/azureml-app"]}
    facts = Facts(0, python_executable="/env/bin/python", entry_script={**SCRIPT, **missing})
    with pytest.raises(
        CheckFailed,
        match=r"\n  azureml-inference-server-http 1\.4\.1: the azureml\.contrib\.services",
    ):
        server_checks.entry_script(facts)


def test_a_module_beside_a_script_in_a_folder_of_the_app_root_gets_both_fixes() -> None:
    script = {**SCRIPT, "path": "/var/azureml-app/src/score.py", "app_root": "/var/azureml-app"}
    found = {
        **script,
        "missing": ["helpers"],
        "beside": ["helpers"],
        "searched": ["/var/azureml-app"],
    }
    facts = Facts(0, python_executable="/env/bin/python", entry_script=found)
    fixes = "import it as src.helpers, or set AML_APP_ROOT=/var/azureml-app/src with AZUREML_ENTRY_SCRIPT=score.py"
    with pytest.raises(CheckFailed, match=re.escape(fixes)):
        server_checks.entry_script(facts)


def test_a_server_script_whose_python_is_gone_cannot_start() -> None:
    """An environment moved after pip wrote azmlinfsrv: a python on PATH may still answer every other fact."""
    moved = {
        "path": "/srv/venv/bin/azmlinfsrv",
        "shebang": "#!/build/venv/bin/python",
        "runs": False,
    }
    facts = Facts(
        1000,
        python_version="3.11.2",
        server_script={**moved, "interpreter": "/build/venv/bin/python"},
    )
    expected = "/srv/venv/bin/azmlinfsrv cannot start: its first line '#!/build/venv/bin/python' names /build/venv/"
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        server_checks.server(facts)


def test_an_entry_script_in_the_workdir_but_not_the_app_root_names_the_variable_to_set() -> None:
    missing = {"path": "/var/azureml-app/score.py", "exists": False, "in_workdir": "/app/score.py"}
    expected = "the entry script /var/azureml-app/score.py is not in the container: it is at /app/score.py, in the "
    expected += (
        "image's WORKDIR, but the server looks under AML_APP_ROOT (default /var/azureml-app): "
    )
    expected += "set AML_APP_ROOT=/app"
    with pytest.raises(CheckFailed, match=re.escape(expected)):
        server_checks.entry_script(Facts(1000, python_version="3.11.2", entry_script=missing))
