"""What really imports in the serving interpreter: distributions' modules, and the entry script's imports.

Runs inside the image under test (a part of the probe script). Standard library only, Python 3.7+.
Every import runs in a child process, in parallel: an import can crash or hang.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from .frame import FRAMEWORK_MODULES, collect, collect_all, spawn
from .resolve import resolves

if TYPE_CHECKING:
    from importlib.metadata import PackagePath

    from ..shapes import DistributionDoc, EntryScriptDoc, ImportDoc, PkgResourcesDoc

    Importing = tuple[list[str], subprocess.Popen[str]]  # a group of modules, and its child process

SERVER_CWD = "AMLIMAGE_SERVER_CWD"  # where the image's own command starts the server: gunicorn imports from there

# Imports each module named, in order, in one process; each answer framed on its own as it comes.
IMPORT_SNIPPET = r"""
import json, sys
for name in sys.argv[3:]:
    out = {"module": name}
    try:
        module = __import__(name)
        out["version"] = str(getattr(module, "__version__", ""))
        if name == "torch":
            out["cuda"] = module.version.cuda
            out["cudnn"] = module.backends.cudnn.version()
        if name == "tensorflow":
            info = module.sysconfig.get_build_info()
            out["cuda"] = info.get("cuda_version")
            out["cudnn"] = info.get("cudnn_version")
    except BaseException as error:
        said = str(error).strip()
        out["error"] = "%s: %s" % (type(error).__name__, said.splitlines()[-1] if said else "")
    print(sys.argv[1] + json.dumps(out, default=str) + sys.argv[2], flush=True)
"""
FIND_SNIPPET = r"""
import importlib.util, json, sys
found = {}
for name in sys.argv[3:]:
    try:
        found[name] = importlib.util.find_spec(name) is not None
    except Exception:
        found[name] = False
print(sys.argv[1] + json.dumps(found) + sys.argv[2])
"""
# The names the server registers for other modules before it loads the script (1.5.1: the
# azureml.contrib.services.aml_request and aml_response it still answers for), by importing it as it does.
ALIASES_SNIPPET = r"""
import json, sys

try:
    import azureml_inference_server_http.server
    found = sorted(k for k, m in list(sys.modules.items()) if m is not None and getattr(m, "__name__", k) != k)
except BaseException:
    found = []
print(sys.argv[1] + json.dumps(found) + sys.argv[2])
"""
OTHER_PYTHONS = ("/usr/bin/python3", "/usr/local/bin/python3", "/usr/bin/python")


def module_of(name: str, top_level: list[str], installed: set[str] | None) -> str | None:
    """The module a distribution is imported as; None when it installs none (a meta-package).

    ``installed``: the dotted names of the modules and packages its RECORD lists (None: unknown).
    Known frameworks first; then the name read as a dotted path (``azure-storage-blob``:
    ``azure.storage.blob``), as one module (``azureml_inference_server_http``), or its
    top_level.txt (``PyJWT``: ``jwt``), whichever it installs; else its first top-level package.
    """
    if name in FRAMEWORK_MODULES:
        return FRAMEWORK_MODULES[name]
    top = [line for line in top_level if line and not line.startswith("_")]
    guesses = [name.replace("-", "."), name.replace("-", "_"), *top]
    if installed is None:  # no RECORD (an egg, or Python 3.7): trust top_level.txt, else the name
        return top[0] if top else guesses[1]
    found = next((guess for guess in guesses if guess in installed), None)
    return found or next(
        (m for m in sorted(installed) if "." not in m and not m.startswith("_")), None
    )


def installed_modules(files: list[PackagePath] | None) -> set[str] | None:
    """The dotted names of the modules and packages in a distribution's RECORD (``dist.files``)."""
    if files is None:
        return None
    found: set[str] = set()
    for path in files:
        parts = list(path.parts)
        in_data_folder = len(parts) > 1 and "." in parts[0]  # NAME.dist-info, NAME.data, ...
        if (
            not parts
            or parts[0] in ("..", "bin")
            or in_data_folder
            or not parts[-1].endswith((".py", ".so", ".pyd"))
        ):
            continue
        leaf = parts[-1].split(".")[0]
        dotted = parts[:-1] if leaf == "__init__" else [*parts[:-1], leaf]
        found.update(".".join(dotted[:depth]) for depth in range(1, len(dotted) + 1))
    return found


def start_early(wanted: list[str]) -> list[Importing]:
    """The wanted distributions' imports, started before the distributions are read (the imports are the
    probe's longest part): each module guessed from its name; ``start_imports`` keeps the right guesses."""
    return [
        start_importing(group) for group in import_groups(module_of(n, [], None) for n in wanted)
    ]


def start_imports(
    dists: dict[str, DistributionDoc], wanted: list[str], early: list[Importing] | None = None
) -> tuple[dict[str, str | None], list[Importing]]:
    """Import each framework present and each wanted distribution's module, each group in a child process;
    a group started ``early`` as the same modules is kept, any other early one is ended.

    A wanted distribution's module was found from its RECORD when it was described (``module``).
    """
    modules = {
        name: dists[name]["module"] if "module" in dists[name] else module_of(name, [], None)
        for name in wanted
        if name in dists
    }
    modules.update({name: FRAMEWORK_MODULES[name] for name in dists if name in FRAMEWORK_MODULES})
    if "azureml-core" in dists:  # importable where installed, or the platform rule names why not
        modules["azureml-core"] = "azureml.core"
    spare, children = list(early or ()), []
    for group in import_groups(modules.values()):
        started = next((item for item in spare if item[0] == group), None)
        if started is not None:
            spare.remove(started)
        children.append(started or start_importing(group))
    for _, child in spare:  # a wrong guess: its answer is not wanted
        child.kill()
        child.communicate()
    return modules, children


# a module that imports pkg_resources as it is imported (setuptools 82 removed it)
PKG_RESOURCES = re.compile(r"^(?:import pkg_resources|from pkg_resources import)\b", re.MULTILINE)


def pkg_resources_users(dists: dict[str, DistributionDoc]) -> PkgResourcesDoc:
    """Whether ``pkg_resources`` can be imported; where it cannot, each installed distribution whose
    package (or a package right below it: ``azureml/core``) imports it at import time, with file and line."""
    if resolves("pkg_resources"):
        return {"available": True, "importers": {}}
    importers: dict[str, str] = {}
    for name, dist in dists.items():
        for path in _package_inits(dist):
            try:
                with open(path, encoding="utf-8", errors="replace") as handle:
                    text = handle.read(262144)
            except OSError:
                continue
            found = PKG_RESOURCES.search(text)
            if found:
                importers[name] = f"{path}:{text.count(chr(10), 0, found.start()) + 1}"
                break
    return {"available": False, "importers": importers}


def _package_inits(dist: DistributionDoc) -> list[str]:
    """A distribution's top-level modules and the __init__.py of its packages two levels down, found on
    sys.path by its top_level names. In a namespace folder that many distributions share (``azureml/``, no
    ``__init__.py``), only the package named as the distribution is (``azureml/core`` for azureml-core)."""
    found = []
    own = _normal(dist.get("name") or "")
    for top in dist.get("top_level") or []:
        for folder in sys.path:
            base = os.path.join(folder, top)
            if os.path.isfile(base + ".py"):
                found.append(base + ".py")
            if os.path.isdir(base):
                shared = not os.path.isfile(os.path.join(base, "__init__.py"))
                found += [os.path.join(base, "__init__.py")] + [
                    os.path.join(base, sub, "__init__.py")
                    for sub in sorted(os.listdir(base))
                    if os.path.isfile(os.path.join(base, sub, "__init__.py"))
                    and (not shared or _normal(f"{top}-{sub}") == own)
                ]
    return [path for path in found if os.path.isfile(path)]


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def import_groups(modules: Iterable[str | None]) -> list[list[str]]:
    """Which modules import together: every framework alone (two in one process can clash where the
    server, which imports one, would not), the others in one process (pandas brings numpy: it is imported
    once, not once a child)."""
    named = sorted({module for module in modules if module})
    frameworks = set(FRAMEWORK_MODULES.values())
    others = [module for module in named if module not in frameworks]
    return [[module] for module in named if module in frameworks] + ([others] if others else [])


def start_importing(group: list[str]) -> Importing:
    return group, spawn(IMPORT_SNIPPET, *group)


def finish_imports(children: list[Importing]) -> dict[str, ImportDoc]:
    """Each module's import; a group whose process crashed imports its unanswered modules again, alone."""
    results: dict[str, ImportDoc] = {}
    for group, child in children:
        answers, detail = collect_all(child)
        found = {str(a.get("module")): cast("ImportDoc", a) for a in answers if isinstance(a, dict)}
        missing = [module for module in group if module not in found]
        if len(missing) > 1 or (missing and len(group) > 1):
            found.update(finish_imports([start_importing([module]) for module in missing]))
        crashed: ImportDoc = {"error": f"the import crashed ({detail})"}
        results.update({module: found.get(module, crashed) for module in group})
    return results


def _top_level_imports(tree: ast.Module) -> list[str]:
    """The modules the script imports at its top level, by their whole dotted names."""
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return sorted(set(names))


def _decorators(function: ast.FunctionDef) -> list[str]:
    found = []
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        found.append(
            target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        )
    return found


def _shape(tree: ast.Module) -> EntryScriptDoc:
    """init and run as the server sees them: present, run's *args/**kwargs, its decorators."""
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    run = functions.get("run")
    return {
        "functions": sorted(functions),
        "run_varargs": bool(run and (run.args.vararg or run.args.kwarg)),
        "run_decorators": _decorators(run) if run else [],
    }


def _found_elsewhere(missing: list[str]) -> dict[str, str]:
    """For modules the serving interpreter lacks: another Python in the image that has them (apt's, say)."""
    # An environment is its prefix, not its binary: a venv's python may be a link to the system's.
    others = [
        p
        for p in OTHER_PYTHONS
        if os.path.isfile(p) and os.path.dirname(os.path.dirname(p)) != sys.prefix
    ]
    if not missing or not others:
        return {}
    result, _ = collect(spawn(FIND_SNIPPET, *missing, python=others[0]))
    return {name: others[0] for name, ok in (result or {}).items() if ok}


def entry_script(app_root: str, name: str | None, server_cwd: str | None = None) -> EntryScriptDoc:
    """The entry script's top-level imports, resolved from where the server imports.

    That is its working directory when the image's command starts it (gunicorn's), the app root, and
    ``AZUREML_SOURCE_DIRECTORY`` under it (azureml_inference_server_http's ``aml_blueprint.py``).
    """
    path = os.path.join(app_root, name) if name else ""
    if not name or not os.path.isfile(path):
        # the image's WORKDIR, as a COPY . . left it
        here = os.path.join(os.getcwd(), os.path.basename(name or ""))
        return {
            "path": path or None,
            "exists": False,
            "in_workdir": here if name and os.path.isfile(here) else None,
        }
    try:
        with open(path, encoding="utf-8") as handle:
            tree = ast.parse(handle.read(), path)
    except (SyntaxError, UnicodeDecodeError, OSError) as error:
        return {"path": path, "exists": True, "error": f"{type(error).__name__}: {error}"}
    source = os.environ.get("AZUREML_SOURCE_DIRECTORY")
    searched = [
        folder
        for folder in (server_cwd, app_root, source and os.path.join(app_root, source))
        if folder
    ]
    sys.path[:0] = searched
    missing = [module for module in _top_level_imports(tree) if not resolves(module)]
    del sys.path[: len(searched)]
    if missing and resolves("azureml_inference_server_http"):
        aliases, _ = collect(spawn(ALIASES_SNIPPET))
        missing = [module for module in missing if module not in (aliases or [])]
    found: EntryScriptDoc = {
        "path": path,
        "exists": True,
        "imports": _top_level_imports(tree),
        "missing": missing,
        "elsewhere": _found_elsewhere(missing),
        "beside": _beside(os.path.dirname(path), searched, missing),
        "searched": searched,
        "app_root": app_root,
    }
    found.update(_shape(tree))
    return found


def _beside(folder: str, searched: list[str], missing: list[str]) -> list[str]:
    """Missing modules that sit in the script's folder, which the server does not import from."""
    if os.path.realpath(folder) in {os.path.realpath(p) for p in searched}:
        return []
    here = {name: os.path.join(folder, name.split(".")[0]) for name in missing}
    return [
        name for name, path in here.items() if os.path.isfile(path + ".py") or os.path.isdir(path)
    ]
