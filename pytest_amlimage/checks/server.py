"""What the inference server needs of the image, read before it starts: itself, and an entry script it accepts.

Pure functions of the probe's facts, like ``checks``; the facts describe the interpreter that serves.
"""

from __future__ import annotations

import posixpath

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from pytest_amlimage.checks.check import require_python
from pytest_amlimage.config.expectations import satisfies
from pytest_amlimage.endpoint import server_changes
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Facts
from pytest_amlimage.probe.shapes import EntryScriptDoc, ServerScriptDoc

SERVER = "azureml-inference-server-http"
REFUSED = "the server refuses to start"


def server(facts: Facts) -> None:
    """azureml-inference-server-http is in the serving interpreter, and that Python is one it supports."""
    _server_script_runs(facts.server_script)
    require_python(facts, SERVER)
    dist = facts.distributions.get(SERVER)
    where = f"the interpreter that serves ({facts.python_executable})"
    if dist is None:
        raise CheckFailed(
            f"{SERVER} is not installed in {where}: keep the base image's, or pip install it there"
        )
    try:
        allowed = SpecifierSet(dist.requires_python or "")
    except InvalidSpecifier:
        return
    if facts.python_version and not satisfies(allowed, facts.python_version):
        raise CheckFailed(
            f"{SERVER} {dist.version} requires Python {allowed}, but {where} is Python {facts.python_version}: "
            f"use a base image whose Python it supports, or a {SERVER} release for this Python"
        )


def _server_script_runs(script: ServerScriptDoc) -> None:
    """The azmlinfsrv that starts names a python that is there (pip wrote its path into the script)."""
    if script.get("error"):
        raise CheckFailed(
            f"{script['path']} cannot start: the image's user cannot read it ({script['error']})"
        )
    if script.get("runs") is False:
        raise CheckFailed(
            f"{script['path']} cannot start: its first line {script['shebang']!r} names {script['interpreter']}, "
            "which is not in the image: the environment was moved or copied after pip wrote its scripts "
            "(COPY --from to another path, or mv); create it where it runs, "
            f"or pip install --force-reinstall {SERVER} there"
        )


def _where_instead(found: EntryScriptDoc) -> str:
    """What to change when the script is not where the server looks (``AML_APP_ROOT`` joined with its name)."""
    elsewhere = found.get("in_workdir")
    if not elsewhere:
        return "check AZUREML_ENTRY_SCRIPT and AML_APP_ROOT, or the COPY that should bring it"
    return (
        f"it is at {elsewhere}, in the image's WORKDIR, but the server looks under AML_APP_ROOT "
        f"(default /var/azureml-app): set AML_APP_ROOT={posixpath.dirname(elsewhere)}, or COPY it there"
    )


def _shape_problems(found: EntryScriptDoc) -> list[str]:
    functions = found.get("functions") or []
    problems = [
        f"it defines no {name}(): {REFUSED}" for name in ("init", "run") if name not in functions
    ]
    if found.get("run_varargs"):
        problems.append(f"run() takes *args or **kwargs: {REFUSED}; give it named parameters")
    decorators = found.get("run_decorators") or []
    if "rawhttp" in decorators and "input_schema" in decorators:
        problems.append(f"run() has both @rawhttp and @input_schema: {REFUSED}; keep one")
    return problems


def _beside_cause(found: EntryScriptDoc, folder: str, module: str) -> str:
    searched, root = " and ".join(found.get("searched") or []), str(found.get("app_root") or "")
    fix = f"set AML_APP_ROOT={folder}"
    if root and folder.startswith(root.rstrip("/") + "/"):  # in a folder of the app root: two ways
        package = posixpath.relpath(folder, root).replace("/", ".")
        script = posixpath.basename(str(found.get("path")))
        fix = f"import it as {package}.{module}, or {fix} with AZUREML_ENTRY_SCRIPT={script}"
    return f"it is beside the script in {folder}, but the server imports from {searched}, not its folder: {fix}"


def _import_problems(found: EntryScriptDoc, serving: str | None) -> list[str]:
    elsewhere, beside = found.get("elsewhere") or {}, found.get("beside") or []
    folder = posixpath.dirname(str(found.get("path")))
    problems = []
    for module in found.get("missing") or []:
        other = elsewhere.get(module) if isinstance(elsewhere, dict) else None
        if module in beside:
            cause = _beside_cause(found, folder, module)
        elif other:
            cause = (
                f"it is installed for {other} (apt's Python?), which the server does not run: install it with "
                f"pip in the environment the server runs ({serving})"
            )
        else:
            cause = (
                f"it is neither installed in the environment the server runs ({serving}) nor a module in its "
                "app root: add it to your requirements, or to the app's folder"
            )
        change = server_changes.behind_import(module)
        problems.append(f"`import {module}` does not resolve: {cause}")
        problems += [f"  {server_changes.package()} {change}"] if change else []
    return problems


def entry_script(facts: Facts) -> None:
    """The entry script exists, parses, has what the server requires, and its top-level imports resolve."""
    require_python(facts, "the entry script")
    found = facts.entry_script
    if not found.get("exists"):
        raise CheckFailed(
            f"the entry script {found.get('path')} is not in the container: {_where_instead(found)}"
        )
    if found.get("error"):
        raise CheckFailed(f"the entry script {found['path']} does not parse: {found['error']}")
    problems = _shape_problems(found) + _import_problems(found, facts.python_executable)
    if problems:
        raise CheckFailed(f"the entry script {found['path']}:\n" + "\n".join(problems))
