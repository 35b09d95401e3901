# Runs inside the image under test, with the image's own `python` on PATH.
# Standard library only, Python 3.6 syntax: curated images ship Python 3.7.
# Prints one JSON document between markers, so banners cannot corrupt it.
# probe_gpu.py (CUDA and cuDNN evidence) is sent in front of this file.
import json
import os
import platform
import re
import subprocess
import sys

BEGIN = "@@AMLIMAGE-PROBE-BEGIN@@"
END = "@@AMLIMAGE-PROBE-END@@"
FRAMEWORK_MODULES = {
    "torch": "torch",
    "tensorflow": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "tensorflow-gpu": "tensorflow",
    "scikit-learn": "sklearn",
    "onnxruntime": "onnxruntime",
    "onnxruntime-gpu": "onnxruntime",
    "xgboost": "xgboost",
}
IMPORT_TIMEOUT = 120
WALK_LIMIT = 5000
IMPORT_SNIPPET = r"""
import json, sys
out = {}
try:
    module = __import__(sys.argv[1])
    out["version"] = str(getattr(module, "__version__", ""))
    if sys.argv[1] == "torch":
        out["cuda"] = module.version.cuda
        out["cudnn"] = module.backends.cudnn.version()
    if sys.argv[1] == "tensorflow":
        info = module.sysconfig.get_build_info()
        out["cuda"] = info.get("cuda_version")
        out["cudnn"] = info.get("cudnn_version")
except BaseException as error:
    out["error"] = "%s: %s" % (type(error).__name__, error)
print("@@AMLIMAGE-PROBE-BEGIN@@" + json.dumps(out, default=str) + "@@AMLIMAGE-PROBE-END@@")
"""


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def framed(text):
    start = text.rfind(BEGIN)
    end = text.rfind(END)
    if start < 0 or end < start:
        return None
    return json.loads(text[start + len(BEGIN) : end])


def metadata_distributions():
    try:
        from importlib import metadata
    except ImportError:
        return None
    found = []
    for dist in metadata.distributions():
        try:
            found.append((dist.metadata["Name"], dist.version, dist.requires or [], None))
        except Exception as error:
            found.append((None, None, [], "%s: %s" % (type(error).__name__, error)))
        if not found[-1][0]:
            where = str(getattr(dist, "_path", "?"))
            found[-1] = (None, None, [], found[-1][3] or "no Name in the metadata of " + where)
    return found


def pkg_resources_distributions():
    import pkg_resources

    found = []
    for dist in pkg_resources.working_set:
        try:
            found.append((dist.project_name, dist.version, [str(r) for r in dist.requires()], None))
        except Exception as error:
            found.append((None, None, [], "%s: %s" % (type(error).__name__, error)))
    return found


def distributions():
    found = metadata_distributions()
    if found is None:
        found = pkg_resources_distributions()
    dists, broken = {}, []
    for name, version, requires, error in found:
        if error:
            broken.append(error)
        elif normalize(name) not in dists:
            dists[normalize(name)] = {"name": name, "version": version, "requires": list(requires)}
    return dists, broken


def start_imports(dists):
    modules = sorted({FRAMEWORK_MODULES[name] for name in dists if name in FRAMEWORK_MODULES})
    return [
        (
            module,
            subprocess.Popen(
                [sys.executable, "-c", IMPORT_SNIPPET, module],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                universal_newlines=True,
            ),
        )
        for module in modules
    ]


def finish_imports(children):
    results = {}
    for module, child in children:
        try:
            out, err = child.communicate(timeout=IMPORT_TIMEOUT)
            result = framed(out) or {"error": "import crashed (exit %s): %s" % (child.returncode, err[-2000:])}
        except subprocess.TimeoutExpired:
            child.kill()
            result = {"error": "import did not finish within %s s" % IMPORT_TIMEOUT}
        results[module] = result
    return results


def user():
    uid = os.getuid()
    try:
        import pwd

        name = pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        name = None
    return {"uid": uid, "gid": os.getgid(), "name": name, "groups": os.getgroups()}


def os_release():
    values = {}
    try:
        with open("/etc/os-release") as handle:
            for line in handle:
                key, sep, value = line.strip().partition("=")
                if sep:
                    values[key] = value.strip('"')
    except OSError:
        pass
    return values


def marker_environment():
    info = sys.implementation.version
    version = "%d.%d.%d" % (info.major, info.minor, info.micro)
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


def folder_access(path):
    """Can this user read the folder, and which entries below it can anyone write?"""
    if not path or not os.path.isdir(path):
        return {"path": path, "exists": False}
    world_writable, seen = [], 0
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


def main():
    dists, broken = distributions()
    children = start_imports(dists)
    libraries = library_evidence()
    calls = start_library_calls(distinct_files(libraries))
    app_root = os.environ.get("AML_APP_ROOT", "/var/azureml-app")
    facts = {
        "python": {"version": platform.python_version(), "executable": sys.executable},
        "user": user(),
        "os_release": os_release(),
        "markers": marker_environment(),
        "distributions": dists,
        "broken_distributions": broken,
        "folders": {
            "app_root": folder_access(app_root),
            "model_dir": folder_access(os.environ.get("AZUREML_MODEL_DIR")),
        },
    }
    facts["frameworks"] = finish_imports(children)
    facts["gpu_evidence"] = (
        env_evidence()
        + cuda_file_evidence()
        + cudnn_header_evidence()
        + libraries
        + finish_library_calls(calls)
        + pip_evidence(dists)
        + framework_evidence(facts["frameworks"])
    )
    sys.stdout.write("\n" + BEGIN + json.dumps(facts, default=str) + END + "\n")


if __name__ == "__main__":
    main()
