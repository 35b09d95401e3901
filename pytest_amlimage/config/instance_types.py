"""The instance types an online deployment runs on: their CPUs, memory and GPUs, as data with sources.

``instance_types.json`` holds the managed SKUs (and Kubernetes' default instance type), each row
citing where its figures come from. Sizes are read here too: Docker's (``4g``, ``512m``) and
Kubernetes' (``2Gi``, ``1500Mi``, ``100m`` CPUs).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from importlib import resources

from pytest_amlimage.errors import AmlUsageError

GIB = 1024**3
HEADROOM = 0.15  # a margin under this is a warning: the platform's agents and a spike need room
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)([iI]?)[bB]?\s*$")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: float
    memory_gib: float
    gpus: float = 0
    gpu_memory_gib: float = 0
    sources: tuple[str, ...] = ()
    kubernetes: bool = False

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * GIB)

    @property
    def shown(self) -> str:
        gpus = f", {self.gpus:g} GPU" if self.gpus else ""
        return f"{self.name} ({self.vcpus:g} vCPU, {self.memory_gib:g} GiB{gpus})"


@functools.lru_cache(maxsize=1)
def all_types() -> tuple[InstanceType, ...]:
    text = resources.files(__package__).joinpath("instance_types.json").read_text()
    rows = json.loads(text)["instance_types"]
    return tuple(InstanceType(**{**row, "sources": tuple(row.get("sources", ()))}) for row in rows)


def find(name: str) -> InstanceType | None:
    """The instance type named (any case), or None when the table does not know it."""
    return next((t for t in all_types() if t.name.lower() == name.strip().lower()), None)


def require(name: str, source: str) -> InstanceType:
    found = find(name)
    if found is None:
        raise AmlUsageError(
            f"unknown instance type {name!r} (from {source}): use a managed SKU such as "
            "Standard_DS3_v2, or give --aml-memory and --aml-cpus"
        )
    return found


def fitting(needed_bytes: float, limit: int = 3) -> list[InstanceType]:
    """The smallest managed SKUs whose memory holds ``needed_bytes`` with the headroom to spare."""
    fits = [
        t
        for t in all_types()
        if not t.kubernetes and t.memory_bytes * (1 - HEADROOM) >= needed_bytes
    ]
    return sorted(fits, key=lambda t: (t.memory_gib, t.vcpus, t.name))[:limit]


def size_bytes(text: str) -> int | None:
    """Bytes of a Docker (``4g``, ``512m``) or Kubernetes (``2Gi``, ``1500Mi``) size; None when unreadable.

    Docker's units are binary, so both read alike (Kubernetes' decimal ``2G`` is near enough here).
    """
    found = _SIZE.match(text)
    return int(float(found.group(1)) * _UNITS[found.group(2).lower()]) if found else None


def cpu_count(text: str) -> float | None:
    """CPUs of a Kubernetes quantity (``2``, ``0.5``, ``500m``); None when unreadable."""
    found = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(m?)\s*$", text)
    if not found:
        return None
    return float(found.group(1)) / (1000 if found.group(2) else 1)


def docker_memory(size: int) -> str:
    """A byte count as Docker's memory limit (whole MiB)."""
    return f"{max(size // 1024**2, 6)}m"
