"""The Python environment as the image's interpreter sees it (last part of the probe script, and its main).

Runs inside the image under test: standard library only, Python 3.7+. Prints one JSON
document between the frame markers, so banners and warnings cannot corrupt it.
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import sys
from typing import TYPE_CHECKING

from .credentials import credentials
from .folders import app_folder, folder_access, pip_at_start, runtime_folders, start_scripts
from .frame import FRAMEWORK_MODULES, frame
from .gpu import distinct_files, gpu_evidence, library_evidence, start_library_calls
from .imports import (
    SERVER_CWD,
    entry_script,
    finish_imports,
    installed_modules,
    module_of,
    pkg_resources_users,
    start_early,
    start_imports,
)
from .packages import os_packages

if TYPE_CHECKING:
    from importlib import metadata

    from ..shapes import DistributionDoc, ProbeDoc, UserDoc


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _described(dist: metadata.Distribution, wanted: list[str]) -> DistributionDoc:
    """One distribution: name, version, requirements, its modules and the Pythons it allows.

    Its metadata is parsed once: each ``dist.version`` or ``dist.requires`` would parse it again.
    A wanted distribution also gets the module it is imported as, from its RECORD.
    """
    meta = dist.metadata
    name = meta["Name"]
    if not name:
        return {"error": "no Name in the metadata of " + str(getattr(dist, "_path", "?"))}
    requires = meta.get_all("Requires-Dist")
    if requires is None and dist.read_text("requires.txt") is not None:  # an egg-info's own format
        requires = dist.requires
    top_level = (dist.read_text("top_level.txt") or "").split()
    described: DistributionDoc = {
        "name": name,
        "version": meta["Version"],
        "requires": list(requires or []),
        "top_level": top_level,
        "requires_python": meta["Requires-Python"] if "Requires-Python" in meta else None,  # noqa: SIM401 (typed without .get)
    }
    if normalize(name) in wanted:
        modules = installed_modules(dist.files)
        described["module"] = module_of(normalize(name), top_level, modules)
    return described


def metadata_distributions(wanted: list[str]) -> list[DistributionDoc] | None:
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7
        return None
    found: list[DistributionDoc] = []
    for dist in metadata.distributions():
        try:
            found.append(_described(dist, wanted))
        except Exception as error:
            found.append({"error": f"{type(error).__name__}: {error}"})
    return found


def pkg_resources_distributions() -> list[DistributionDoc]:
    import pkg_resources

    found: list[DistributionDoc] = []
    for dist in pkg_resources.working_set:
        try:
            requires = [str(r) for r in dist.requires()]
            found.append({"name": dist.project_name, "version": dist.version, "requires": requires})
        except Exception as error:
            found.append({"error": f"{type(error).__name__}: {error}"})
    return found


def distributions(wanted: list[str]) -> tuple[dict[str, DistributionDoc], list[str]]:
    found = metadata_distributions(wanted)
    if found is None:
        found = pkg_resources_distributions()
    dists: dict[str, DistributionDoc] = {}
    broken: list[str] = []
    for item in found:
        if "error" in item:
            broken.append(item["error"])
        elif normalize(item["name"]) not in dists:
            dists[normalize(item["name"])] = item
    return dists, broken


def user() -> UserDoc:
    uid = os.getuid()
    try:
        import pwd

        name = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        name = None
    return {"uid": uid, "gid": os.getgid(), "name": name, "groups": os.getgroups()}


def os_release() -> dict[str, str]:
    values: dict[str, str] = {}
    for path in ("/etc/os-release", "/usr/lib/os-release"):  # the second: where the first links to
        try:
            with open(path) as handle:
                for line in handle:
                    key, sep, value = line.strip().partition("=")
                    if sep:
                        values[key] = value.strip('"')
            return values
        except OSError:
            continue
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


def image_information(path: str = "/IMAGE_INFORMATION") -> str | None:
    """What Azure ML's images say of themselves there (their base and build), when the file is present."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read(4096)
    except OSError:
        return None


def python_on_path() -> str | None:
    """The ``python`` a shell in the image would run, when it is another environment than this probe's."""
    found = (shutil.which(name) for name in ("python", "python3"))
    return next(
        (
            path
            for path in found
            if path and os.path.dirname(path) != os.path.dirname(sys.executable)
        ),
        None,
    )


def main(default_app_root: str, wanted: list[str]) -> None:
    early = start_early(wanted)
    dists, broken = distributions(wanted)
    modules, children = start_imports(dists, wanted, early)
    libraries = library_evidence()
    calls = start_library_calls(distinct_files(libraries))
    app_root, script = (
        os.environ.get("AML_APP_ROOT", default_app_root),
        os.environ.get("AZUREML_ENTRY_SCRIPT"),
    )
    facts: ProbeDoc = {
        "python": {
            "version": platform.python_version(),
            "executable": sys.executable,
            "on_path": python_on_path(),
        },
        "user": user(),
        "os_release": os_release(),
        "markers": marker_environment(),
        "distributions": dists,
        "broken_distributions": broken,
        "folders": {
            "app_root": folder_access(app_folder(app_root, script)),
            "model_dir": folder_access(os.environ.get("AZUREML_MODEL_DIR")),
        },
        "runtime_folders": runtime_folders(),
        "start_scripts": start_scripts(),
        "pip_at_start": pip_at_start(),
        "pkg_resources": pkg_resources_users(dists),
        "credentials": credentials(
            app_folder(app_root, script), os.environ.get("AZUREML_MODEL_DIR")
        ),
        "os_packages": os_packages(),
        "image_information": image_information(),
        "entry_script": entry_script(app_root, script, os.environ.get(SERVER_CWD)),
    }
    imported = finish_imports(children)
    facts["frameworks"] = {m: r for m, r in imported.items() if m in FRAMEWORK_MODULES.values()}
    facts["imports"] = {
        name: {"module": module, **imported.get(module or "", {})}
        for name, module in modules.items()
    }
    facts["gpu_evidence"] = gpu_evidence(libraries, calls, dists, facts["frameworks"])
    sys.stdout.write("\n" + frame(facts) + "\n")


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "/var/azureml-app",
        sys.argv[2].split(",") if len(sys.argv) > 2 else [],
    )
