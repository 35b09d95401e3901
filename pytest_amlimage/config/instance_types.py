"""The instance types an online deployment runs on: their CPUs, memory and GPUs, as data with sources.

``instance_types.json`` holds the managed SKUs (and Kubernetes' default instance type), each row
citing where its figures come from. Sizes are read here too, each by its own rules: Docker's (``4g``,
``512m``: binary units, by the Docker SDK's own parser) and Kubernetes' quantities (``2Gi`` is 2 GiB, ``2G``
2 x 10^9 bytes; ``500m`` CPUs).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from importlib import resources

from pytest_amlimage.errors import AmlUsageError

GIB = 1024**3
HEADROOM = 0.15  # a margin under this is a warning: the platform's agents and a spike need room
MIB = 1024**2
LEAST_MEMORY = 6 * MIB  # the engine's least memory limit
_QUANTITY = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)(?:[eE]([+-]?\d+))?\s*([KMGTPE]i|[kMGTPE])?\s*$")
_QUANTITY_UNITS: dict[str | None, int] = {
    None: 1,
    **{unit: 1000**power for power, unit in enumerate("kMGTPE", 1)},
    **{f"{unit}i": 1024**power for power, unit in enumerate("KMGTPE", 1)},
}


@dataclass(frozen=True)
class Retirement:
    """When Microsoft retires (or retired) an instance type's series, where it says so, and what it names instead."""

    on: date
    source: str
    replacement: str | None = None


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: float
    memory_gib: float
    gpus: float = 0
    sources: tuple[str, ...] = ()
    kubernetes: bool = False
    retires: Retirement | None = None

    def retired(self, today: date | None = None) -> bool:
        """Its series is retired: the platform can no longer place a deployment on it."""
        return self.retires is not None and self.retires.on <= (today or date.today())

    @property
    def memory_bytes(self) -> int:
        return int(self.memory_gib * GIB)

    @property
    def shown(self) -> str:
        share = Fraction(self.gpus).limit_denominator(8)  # an NVads A10 v5's sixth of a GPU: 1/6
        gpus = f", {share} GPU" if self.gpus else ""
        return f"{self.name} ({self.vcpus:g} vCPU, {self.memory_gib:g} GiB{gpus})"


@functools.lru_cache(maxsize=1)
def all_types() -> tuple[InstanceType, ...]:
    text = resources.files(__package__).joinpath("instance_types.json").read_text()
    rows = json.loads(text)["instance_types"]
    return tuple(
        InstanceType(
            **{**row, "sources": tuple(row.get("sources", ())), "retires": _retirement(row)}
        )
        for row in rows
    )


def _retirement(row: dict[str, object]) -> Retirement | None:
    found = row.get("retires")
    if not isinstance(found, dict):
        return None
    replacement = found.get("replacement")
    return Retirement(
        date.fromisoformat(str(found["on"])),
        str(found["source"]),
        str(replacement) if replacement else None,
    )


def find(name: str) -> InstanceType | None:
    """The instance type named (any case), or None when the table does not know it."""
    return next((t for t in all_types() if t.name.lower() == name.strip().lower()), None)


def require(name: str, source: str) -> InstanceType:
    found = find(name)
    if found is None:
        raise AmlUsageError(
            f"unknown instance type {name!r} (from {source}): {closest(name)} "
            "(or give --aml-memory and --aml-cpus)"
        )
    return found


def closest(name: str) -> str:
    """What to use instead of a name the table lacks: the known names nearest to it, else a common one."""
    known = {t.name.lower(): t.name for t in all_types()}
    near = difflib.get_close_matches(name.strip().lower(), known, n=3, cutoff=0.75)
    if not near:
        return "use a managed SKU such as Standard_DS3_v2"
    return "did you mean " + " or ".join(known[found] for found in near) + "?"


def fitting(needed_bytes: float, limit: int = 3) -> list[InstanceType]:
    """The smallest managed SKUs whose memory holds ``needed_bytes`` with the headroom to spare; never a
    retired one."""
    fits = [
        t
        for t in all_types()
        if not t.kubernetes and not t.retired() and t.memory_bytes * (1 - HEADROOM) >= needed_bytes
    ]
    return sorted(fits, key=lambda t: (t.memory_gib, t.vcpus, t.name))[:limit]


def kubernetes_bytes(text: str) -> int | None:
    """Bytes of a Kubernetes quantity: ``2Gi`` (binary), ``2G`` (decimal), ``0.5Gi``, ``1e9``; None when not one."""
    found = _QUANTITY.match(text)
    if found is None:
        return None
    number, exponent, unit = found.groups()
    return int(float(number) * 10 ** int(exponent or 0) * _QUANTITY_UNITS[unit])


def docker_bytes(text: str) -> int | None:
    """Bytes of a Docker size (``512m``, ``4g``, ``1024``), read by the Docker SDK; None when not one."""
    from docker.errors import DockerException
    from docker.utils import parse_bytes

    try:
        return int(parse_bytes(text.strip()))
    except (DockerException, ValueError, IndexError):
        return None


def memory_bytes(text: str) -> int | None:
    """A memory size as an option gives it: Docker's (``4g``), or Kubernetes' binary units (``2Gi``)."""
    return kubernetes_bytes(text) if re.search(r"[KMGTPE]i\s*$", text) else docker_bytes(text)


def shown_size(size: int) -> str:
    """Bytes as Docker writes a memory limit (whole MiB): ``2048m``."""
    return f"{size // MIB}m"


def cpu_count(text: str) -> float | None:
    """CPUs of a Kubernetes quantity (``2``, ``0.5``, ``500m``); None when unreadable."""
    found = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(m?)\s*$", text)
    if not found:
        return None
    return float(found.group(1)) / (1000 if found.group(2) else 1)
