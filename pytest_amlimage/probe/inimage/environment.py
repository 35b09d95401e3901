"""The Python environment as the image's interpreter sees it (last part of the probe script, and its main).

Runs inside the image under test: standard library only, Python 3.7+. Prints one JSON
document between the frame markers, so banners and warnings cannot corrupt it.
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from typing import Any

from .frame import FRAMEWORK_MODULES, collect, frame, spawn
from .gpu import distinct_files, gpu_evidence, library_evidence, start_library_calls

WALK_LIMIT = 5000
IMPORT_SNIPPET = r"""
import json, sys
out = {}
try:
    module = __import__(sys.argv[3])
    out["version"] = str(getattr(module, "__version__", ""))
    if sys.argv[3] == "torch":
        out["cuda"] = module.version.cuda
        out["cudnn"] = module.backends.cudnn.version()
    if sys.argv[3] == "tensorflow":
        info = module.sysconfig.get_build_info()
        out["cuda"] = info.get("cuda_version")
        out["cudnn"] = info.get("cudnn_version")
except BaseException as error:
    out["error"] = "%s: %s" % (type(error).__name__, error)
print(sys.argv[1] + json.dumps(out, default=str) + sys.argv[2])
"""


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def metadata_distributions() -> list[tuple[Any, Any, list[str], str | None]] | None:
    try:
        from importlib import metadata
    except ImportError:
        return None
    found: list[tuple[Any, Any, list[str], str | None]] = []
    for dist in metadata.distributions():
        try:
            found.append((dist.metadata["Name"], dist.version, dist.requires or [], None))
        except Exception as error:
            found.append((None, None, [], f"{type(error).__name__}: {error}"))
        if not found[-1][0]:
            where = str(getattr(dist, "_path", "?"))
            found[-1] = (None, None, [], found[-1][3] or "no Name in the metadata of " + where)
    return found


def pkg_resources_distributions() -> list[tuple[Any, Any, list[str], str | None]]:
    import pkg_resources

    found: list[tuple[Any, Any, list[str], str | None]] = []
    for dist in pkg_resources.working_set:
        try:
            found.append((dist.project_name, dist.version, [str(r) for r in dist.requires()], None))
        except Exception as error:
            found.append((None, None, [], f"{type(error).__name__}: {error}"))
    return found


def distributions() -> tuple[dict[str, dict[str, Any]], list[str]]:
    found = metadata_distributions()
    if found is None:
        found = pkg_resources_distributions()
    dists: dict[str, dict[str, Any]] = {}
    broken: list[str] = []
    for name, version, requires, error in found:
        if error:
            broken.append(error)
        elif normalize(name) not in dists:
            dists[normalize(name)] = {"name": name, "version": version, "requires": list(requires)}
    return dists, broken


def start_imports(dists: dict[str, dict[str, Any]]) -> list[tuple[str, subprocess.Popen[str]]]:
    modules = sorted({FRAMEWORK_MODULES[name] for name in dists if name in FRAMEWORK_MODULES})
    return [(module, spawn(IMPORT_SNIPPET, module)) for module in modules]


def finish_imports(children: list[tuple[str, subprocess.Popen[str]]]) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for module, child in children:
        result, detail = collect(child)
        results[module] = result if isinstance(result, dict) else {"error": f"import crashed ({detail})"}
    return results


def user() -> dict[str, Any]:
    uid = os.getuid()
    try:
        import pwd

        name = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        name = None
    return {"uid": uid, "gid": os.getgid(), "name": name, "groups": os.getgroups()}


def os_release() -> dict[str, str]:
    values: dict[str, str] = {}
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                key, sep, value = line.strip().partition("=")
                if sep:
                    values[key] = value.strip('"')
    except OSError:
        pass
    return values


def marker_environment() -> dict[str, str]:
    info = sys.implementation.version
    version = f"{info.major}.{info.minor}.{info.micro}"
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": version,
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


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
    return {"path": path, "exists": True, "readable": readable, "world_writable": world_writable[:50]}


def main(default_app_root: str) -> None:
    dists, broken = distributions()
    children = start_imports(dists)
    libraries = library_evidence()
    calls = start_library_calls(distinct_files(libraries))
    facts: dict[str, Any] = {
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "user": user(),
        "os_release": os_release(),
        "markers": marker_environment(),
        "distributions": dists,
        "broken_distributions": broken,
        "folders": {
            "app_root": folder_access(os.environ.get("AML_APP_ROOT", default_app_root)),
            "model_dir": folder_access(os.environ.get("AZUREML_MODEL_DIR")),
        },
    }
    facts["frameworks"] = finish_imports(children)
    facts["gpu_evidence"] = gpu_evidence(libraries, calls, dists, facts["frameworks"])
    sys.stdout.write("\n" + frame(facts) + "\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/var/azureml-app")
