"""CUDA and cuDNN evidence, gathered inside the image under test (second part of the probe script).

Standard library only, Python 3.7+. Library calls run in child processes: loading cuDNN can
abort a process.
"""

from __future__ import annotations

import glob
import json
import os
import re
import subprocess
import sys
from typing import TYPE_CHECKING

from .frame import collect, spawn

if TYPE_CHECKING:
    from ..shapes import DistributionDoc, EvidenceDoc, ImportDoc

CUDA_ENV = ("CUDA_VERSION", "NV_CUDA_CUDART_VERSION")
CUDNN_ENV = ("CUDNN_VERSION", "NV_CUDNN_VERSION", "NV_CUDNN_PACKAGE")
CUDNN_HEADERS = ("cudnn_version.h", "cudnn.h")
CUDNN_DEFINES = ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL")
LIBRARY_NAMES = (("cuda", "libcudart.so."), ("cudnn", "libcudnn.so."))
VERSION_RE = re.compile(r"(\d+(?:\.\d+)*)")
CALL_SNIPPET = r"""
import ctypes, json, sys

lib = ctypes.CDLL(sys.argv[3])
if sys.argv[4] == "cuda":
    value = ctypes.c_int()
    code = lib.cudaRuntimeGetVersion(ctypes.byref(value))
    out = {"value": value.value, "code": code}
else:
    lib.cudnnGetVersion.restype = ctypes.c_size_t
    out = {"value": lib.cudnnGetVersion(), "code": 0}
print(sys.argv[1] + json.dumps(out) + sys.argv[2])
"""


def evidence(
    library: str, origin: str, source: str, version: str | None, error: str | None = None
) -> EvidenceDoc:
    return {
        "library": library,
        "origin": origin,
        "source": source,
        "version": version,
        "error": error,
    }


def version_in(text: str) -> str | None:
    match = VERSION_RE.search(text.split("=", 1)[-1])
    return match.group(1) if match else None


def site_dirs() -> list[str]:
    found = [
        p for p in sys.path if p.endswith(("site-packages", "dist-packages")) and os.path.isdir(p)
    ]
    return sorted(set(found))


def origin_of(path: str) -> str:
    return "pip" if "-packages" + os.sep in path else "system"


def env_evidence() -> list[EvidenceDoc]:
    found: list[EvidenceDoc] = []
    for library, names in (("cuda", CUDA_ENV), ("cudnn", CUDNN_ENV)):
        for name in names:
            if os.environ.get(name):
                found.append(
                    evidence(library, "system", "env " + name, version_in(os.environ[name]))
                )
    return found


def cuda_file_evidence() -> list[EvidenceDoc]:
    found = []
    for root in sorted(glob.glob("/usr/local/cuda*")):
        path = os.path.join(root, "version.json")
        if os.path.isfile(path):
            with open(path) as handle:
                data = json.load(handle)
            for key in ("cuda", "cuda_cudart"):
                if key in data:
                    found.append(
                        evidence("cuda", "system", path + " " + key, data[key].get("version"))
                    )
        path = os.path.join(root, "version.txt")
        if os.path.isfile(path):
            with open(path) as handle:
                found.append(evidence("cuda", "system", path, version_in(handle.read())))
    return found


def header_version(path: str) -> str | None:
    values: dict[str, str] = {}
    with open(path, errors="replace") as handle:
        for line in handle:
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "#define" and parts[1] in CUDNN_DEFINES:
                values[parts[1]] = parts[2]
    if "CUDNN_MAJOR" not in values:
        return None
    return ".".join(values.get(k, "0") for k in CUDNN_DEFINES)


def cudnn_header_evidence() -> list[EvidenceDoc]:
    dirs = ["/usr/include", "/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu"]
    dirs += sorted(glob.glob("/usr/local/cuda*/include"))
    dirs += [os.path.join(site, "nvidia", "cudnn", "include") for site in site_dirs()]
    found, seen = [], set()
    for folder in dirs:
        for name in CUDNN_HEADERS:
            path = os.path.join(folder, name)
            key = (origin_of(path), os.path.realpath(path))
            if os.path.isfile(path) and key not in seen:
                seen.add(key)
                version = header_version(path)
                if version:
                    found.append(evidence("cudnn", origin_of(path), path, version))
    return found


def loader_cache_paths() -> list[str]:
    for ldconfig in ("/sbin/ldconfig", "/usr/sbin/ldconfig", "/sbin/ldconfig.real"):
        if os.path.exists(ldconfig):
            try:
                out = subprocess.check_output(
                    [ldconfig, "-p"], universal_newlines=True, stderr=subprocess.DEVNULL
                )
            except (OSError, subprocess.CalledProcessError):
                continue
            return [line.split("=>")[-1].strip() for line in out.splitlines() if "=>" in line]
    return []


def library_dirs() -> list[str]:
    dirs = [os.path.dirname(p) for p in loader_cache_paths() if "libcudart" in p or "libcudnn" in p]
    dirs += [d for d in os.environ.get("LD_LIBRARY_PATH", "").split(":") if d]
    dirs += sorted(glob.glob("/usr/local/cuda*/lib64")) + sorted(
        glob.glob("/usr/local/cuda*/targets/*/lib")
    )
    dirs += ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib/aarch64-linux-gnu"]
    for site in site_dirs():
        dirs += sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib")))
    return [d for d in dict.fromkeys(dirs) if os.path.isdir(d)]


def link_names(path: str) -> list[str]:
    """The file names along a symlink chain: libcudnn.so.9 -> libcudnn.so.9.28.0 -> ..."""
    names = [os.path.basename(path)]
    for _ in range(8):
        if not os.path.islink(path):
            break
        path = os.path.join(os.path.dirname(path), os.readlink(path))
        names.append(os.path.basename(path))
    return names


def library_evidence() -> list[EvidenceDoc]:
    """Library files by name (libcudart.so.12.9.79), one per installation and real file."""
    found, seen = [], set()
    for folder in library_dirs():
        for name in sorted(os.listdir(folder)):
            for library, prefix in LIBRARY_NAMES:
                path = os.path.join(folder, name)
                if not name.startswith(prefix) or not os.path.exists(path):
                    continue
                key = (origin_of(path), os.path.realpath(path))
                named = max(
                    (n[len(prefix) :] for n in link_names(path) if n.startswith(prefix)), key=len
                )
                match = VERSION_RE.match(named)
                if key not in seen and match:
                    seen.add(key)
                    found.append(evidence(library, origin_of(path), path, match.group(1)))
    return found


def distinct_files(libraries: list[EvidenceDoc], limit: int = 6) -> list[EvidenceDoc]:
    """Each real library file once: asking the same file twice tells nothing new."""
    chosen, seen = [], set()
    for item in libraries:
        real = os.path.realpath(item["source"])
        if real not in seen:
            seen.add(real)
            chosen.append(item)
    return chosen[:limit]


def start_library_calls(
    files: list[EvidenceDoc],
) -> list[tuple[EvidenceDoc, subprocess.Popen[str]]]:
    return [(item, spawn(CALL_SNIPPET, item["source"], item["library"])) for item in files]


def call_version(library: str, value: int) -> str:
    if library == "cuda":
        return f"{value // 1000}.{(value % 1000) // 10}"
    if value >= 90000:
        return f"{value // 10000}.{(value % 10000) // 100}.{value % 100}"
    return f"{value // 1000}.{(value % 1000) // 100}.{value % 100}"


def finish_library_calls(
    children: list[tuple[EvidenceDoc, subprocess.Popen[str]]],
) -> list[EvidenceDoc]:
    found = []
    for item, child in children:
        call = "cudaRuntimeGetVersion()" if item["library"] == "cuda" else "cudnnGetVersion()"
        source = item["source"] + " " + call
        result, detail = collect(child)
        if result is None or result.get("code"):
            found.append(
                evidence(
                    item["library"], item["origin"], source, None, f"loading it failed ({detail})"
                )
            )
        else:
            version = call_version(item["library"], result["value"])
            found.append(evidence(item["library"], item["origin"], source, version))
    return found


def pip_evidence(dists: dict[str, DistributionDoc]) -> list[EvidenceDoc]:
    found = []
    for name, dist in sorted(dists.items()):
        for library, pattern in (
            ("cuda", r"nvidia-cuda-runtime(-cu\d+)?$"),
            ("cudnn", r"nvidia-cudnn(-cu\d+)?$"),
        ):
            if re.match(pattern, name):
                found.append(
                    evidence(library, "pip", "pip " + dist["name"], version_in(dist["version"]))
                )
    return found


def framework_evidence(frameworks: dict[str, ImportDoc]) -> list[EvidenceDoc]:
    found = []
    for module, result in sorted(frameworks.items()):
        if result.get("cuda"):
            found.append(
                evidence("cuda", "framework", module + " build", version_in(str(result["cuda"])))
            )
        cudnn = result.get("cudnn")
        if isinstance(cudnn, int) or (
            isinstance(cudnn, str) and cudnn.isdigit() and len(cudnn) >= 4
        ):
            found.append(
                evidence("cudnn", "framework", module + " build", call_version("cudnn", int(cudnn)))
            )
        elif cudnn:
            found.append(evidence("cudnn", "framework", module + " build", version_in(str(cudnn))))
    return found


def gpu_evidence(
    libraries: list[EvidenceDoc],
    calls: list[tuple[EvidenceDoc, subprocess.Popen[str]]],
    dists: dict[str, DistributionDoc],
    frameworks: dict[str, ImportDoc],
) -> list[EvidenceDoc]:
    """Every piece of evidence, the library calls (started early) collected last."""
    return (
        env_evidence()
        + cuda_file_evidence()
        + cudnn_header_evidence()
        + libraries
        + finish_library_calls(calls)
        + pip_evidence(dists)
        + framework_evidence(frameworks)
    )
