"""Lay the pip wheels' CUDA runtime and cuDNN out where NVIDIA's CUDA images keep them.

Versions come from the wheels' own metadata, so the image and its tests cannot drift apart.
"""

import json
import os
import shutil
import sysconfig
from importlib import metadata

site = sysconfig.get_paths()["purelib"]
cudart = metadata.version("nvidia-cuda-runtime-cu12")  # e.g. 12.9.79
cudnn = metadata.version("nvidia-cudnn-cu12")  # e.g. 9.28.0.42
major_minor = ".".join(cudart.split(".")[:2])
cudnn_short = ".".join(cudnn.split(".")[:3])

toolkit = f"/usr/local/cuda-{major_minor}"
lib = f"{toolkit}/targets/x86_64-linux/lib"
os.makedirs(lib, exist_ok=True)
real = f"{lib}/libcudart.so.{cudart}"
shutil.copy(f"{site}/nvidia/cuda_runtime/lib/libcudart.so.12", real)
os.symlink(os.path.basename(real), f"{lib}/libcudart.so.12")
os.symlink("targets/x86_64-linux/lib", f"{toolkit}/lib64")
os.symlink(os.path.basename(toolkit), "/usr/local/cuda")
with open(f"{toolkit}/version.json", "w") as handle:
    json.dump({"cuda_cudart": {"name": "CUDA Runtime (cudart)", "version": cudart}}, handle, indent=2)
with open("/etc/ld.so.conf.d/000-cuda.conf", "w") as handle:
    handle.write("/usr/local/cuda/lib64\n")

system = "/usr/lib/x86_64-linux-gnu"
cudnn_lib = f"{site}/nvidia/cudnn/lib"
for name in sorted(os.listdir(cudnn_lib)):
    if name.startswith("libcudnn") and name.endswith(".so.9"):
        versioned = f"{system}/{name[: -len('.so.9')]}.so.{cudnn_short}"
        os.symlink(f"{cudnn_lib}/{name}", versioned)
        os.symlink(os.path.basename(versioned), f"{system}/{name}")
include = "/usr/include/x86_64-linux-gnu"
os.makedirs(include, exist_ok=True)
shutil.copy(f"{site}/nvidia/cudnn/include/cudnn_version.h", f"{include}/cudnn_version_v9.h")
os.symlink(f"{include}/cudnn_version_v9.h", "/usr/include/cudnn_version.h")
print(f"laid out cudart {cudart} in {toolkit} and cuDNN {cudnn} in {system}")
