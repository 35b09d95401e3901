# The probe's CUDA and cuDNN evidence: sent in front of probe_script.py, in the image
# under test. Standard library only, Python 3.6 syntax. Library calls run in child
# processes: loading cuDNN can abort a process.
import glob
import json
import os
import re
import subprocess
import sys

CUDA_ENV = ("CUDA_VERSION", "NV_CUDA_CUDART_VERSION")
CUDNN_ENV = ("CUDNN_VERSION", "NV_CUDNN_VERSION", "NV_CUDNN_PACKAGE")
CUDNN_HEADERS = ("cudnn_version.h", "cudnn.h")
LIBRARY_NAMES = (("cuda", "libcudart.so."), ("cudnn", "libcudnn.so."))
VERSION_RE = re.compile(r"(\d+(?:\.\d+)*)")
CALL_SNIPPET = r"""
import ctypes, json, sys
lib = ctypes.CDLL(sys.argv[1])
if sys.argv[2] == "cuda":
    value = ctypes.c_int()
    code = lib.cudaRuntimeGetVersion(ctypes.byref(value))
    out = {"value": value.value, "code": code}
else:
    lib.cudnnGetVersion.restype = ctypes.c_size_t
    out = {"value": lib.cudnnGetVersion(), "code": 0}
print("@@AMLIMAGE-PROBE-BEGIN@@" + json.dumps(out) + "@@AMLIMAGE-PROBE-END@@")
"""


def evidence(library, origin, source, version, error=None):
    return {"library": library, "origin": origin, "source": source, "version": version, "error": error}


def version_in(text):
    match = VERSION_RE.search(text.split("=", 1)[-1])
    return match.group(1) if match else None


def site_dirs():
    found = [p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)]
    return sorted(set(found))


def origin_of(path):
    return "pip" if "-packages" + os.sep in path else "system"


def env_evidence():
    found = []
    for library, names in (("cuda", CUDA_ENV), ("cudnn", CUDNN_ENV)):
        for name in names:
            if os.environ.get(name):
                found.append(evidence(library, "system", "env " + name, version_in(os.environ[name])))
    return found


def cuda_file_evidence():
    found = []
    for root in sorted(glob.glob("/usr/local/cuda*")):
        path = os.path.join(root, "version.json")
        if os.path.isfile(path):
            with open(path) as handle:
                data = json.load(handle)
            for key in ("cuda", "cuda_cudart"):
                if key in data:
                    found.append(evidence("cuda", "system", path + " " + key, data[key].get("version")))
        path = os.path.join(root, "version.txt")
        if os.path.isfile(path):
            with open(path) as handle:
                found.append(evidence("cuda", "system", path, version_in(handle.read())))
    return found


def header_version(path):
    values = {}
    with open(path, errors="replace") as handle:
        for line in handle:
            parts = line.split()
            if (
                len(parts) >= 3
                and parts[0] == "#define"
                and parts[1] in ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL")
            ):
                values[parts[1]] = parts[2]
    if "CUDNN_MAJOR" not in values:
        return None
    return ".".join(values.get(k, "0") for k in ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"))


def cudnn_header_evidence():
    dirs = ["/usr/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu"]
    dirs += sorted(glob.glob("/usr/local/cuda*/include"))
    dirs += [os.path.join(site, "nvidia", "cudnn", "include") for site in site_dirs()]
    found, seen = [], set()
    for folder in dirs:
        for name in CUDNN_HEADERS:
            path = os.path.join(folder, name)
            real = os.path.realpath(path)
            if os.path.isfile(path) and (origin_of(path), real) not in seen:
                seen.add((origin_of(path), real))
                version = header_version(path)
                if version:
                    found.append(evidence("cudnn", origin_of(path), path, version))
    return found


def loader_cache_paths():
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "/sbin/ldconfig.real"):
        if os.path.exists(ldconfig):
            try:
                out = subprocess.check_output([ldconfig, "-p"], universal_newlines=True, stderr=subprocess.DEVNULL)
            except (OSError, subprocess.CalledProcessError):
                continue
            return [line.split("=>")[-1].strip() for line in out.splitlines() if "=>" in line]
    return []


def library_dirs():
    dirs = [os.path.dirname(p) for p in loader_cache_paths() if "libcudart" in p or "libcudnn" in p]
    dirs += [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    dirs += sorted(glob.glob("/usr/local/cuda*/lib64")) + sorted(glob.glob("/usr/local/cuda*/targets/*/lib"))
    dirs += ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu"]
    for site in site_dirs():
        dirs += sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib")))
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def link_names(path):
    """The file names along a symlink chain: libcudnn.so.9 -> libcudnn.so.9.28.0 -> ..."""
    names = [os.path.basename(path)]
    for _ in range(8):
        if not os.path.islink(path):
            break
        path = os.path.join(os.path.dirname(path), os.readlink(path))
        names.append(os.path.basename(path))
    return names


def library_evidence():
    """Library files by name (libcudart.so.12.9.79), one per installation and real file."""
    found, seen = [], set()
    for folder in library_dirs():
        for name in sorted(os.listdir(folder)):
            for library, prefix in LIBRARY_NAMES:
                path = os.path.join(folder, name)
                if not name.startswith(prefix) or not os.path.exists(path):
                    continue
                real = os.path.realpath(path)
                key = (origin_of(path), real)
                named = max((n[len(prefix) :] for n in link_names(path) if n.startswith(prefix)), key=len)
                if key not in seen and VERSION_RE.match(named):
                    seen.add(key)
                    found.append(evidence(library, origin_of(path), path, VERSION_RE.match(named).group(1)))
    return found


def distinct_files(libraries, limit=6):
    """Each real library file once: asking the same file twice tells nothing new."""
    chosen, seen = [], set()
    for item in libraries:
        real = os.path.realpath(item["source"])
        if real not in seen:
            seen.add(real)
            chosen.append(item)
    return chosen[:limit]


def start_library_calls(files):
    children = []
    for item in files:
        child = subprocess.Popen(
            [sys.executable, "-c", CALL_SNIPPET, item["source"], item["library"]],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            universal_newlines=True,
        )
        children.append((item, child))
    return children


def call_version(library, value):
    if library == "cuda":
        return "%d.%d" % (value // 1000, (value % 1000) // 10)
    if value >= 90000:
        return "%d.%d.%d" % (value // 10000, (value % 10000) // 100, value % 100)
    return "%d.%d.%d" % (value // 1000, (value % 1000) // 100, value % 100)


def finish_library_calls(children):
    found = []
    for item, child in children:
        source = (
            item["source"] + " " + ("cudaRuntimeGetVersion()" if item["library"] == "cuda" else "cudnnGetVersion()")
        )
        try:
            out, err = child.communicate(timeout=IMPORT_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = "", "timed out"
        result = framed(out)
        if result is None or result.get("code"):
            error = "loading it failed (exit %s): %s" % (child.returncode, (err or "").strip()[-300:])
            found.append(evidence(item["library"], item["origin"], source, None, error))
        else:
            found.append(
                evidence(item["library"], item["origin"], source, call_version(item["library"], result["value"]))
            )
    return found


def pip_evidence(dists):
    found = []
    for name, dist in sorted(dists.items()):
        for library, pattern in (("cuda", r"nvidia-cuda-runtime(-cu\d+)?$"), ("cudnn", r"nvidia-cudnn(-cu\d+)?$")):
            if re.match(pattern, name):
                found.append(evidence(library, "pip", "pip " + dist["name"], version_in(dist["version"])))
    return found


def framework_evidence(frameworks):
    found = []
    for module, result in sorted(frameworks.items()):
        if result.get("cuda"):
            found.append(evidence("cuda", "framework", module + " build", version_in(str(result["cuda"]))))
        cudnn = result.get("cudnn")
        if isinstance(cudnn, int) or (isinstance(cudnn, str) and cudnn.isdigit() and len(cudnn) >= 4):
            found.append(evidence("cudnn", "framework", module + " build", call_version("cudnn", int(cudnn))))
        elif cudnn:
            found.append(evidence("cudnn", "framework", module + " build", version_in(str(cudnn))))
    return found
