"""The documented Azure ML prebuilt inference images, shipped as data (``catalog.json``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from pytest_amlimage.config.expectations import (
    Expectation,
    expectation,
    merge,
    parse_expectation,
    parse_library_expectation,
)
from pytest_amlimage.errors import AmlUsageError

# no-code deployments
MLFLOW_IMAGE = "mcr.microsoft.com/azureml/curated/mlflow-py312-inference:latest"
FRAMEWORK_LABELS = {"torch": "PyTorch", "tensorflow": "TensorFlow", "scikit-learn": "scikit-learn"}


@dataclass(frozen=True)
class CatalogEntry:
    image: str
    mcr: str
    curated_environment: str
    framework: str | None
    framework_version: str | None
    device: str
    packages: tuple[str, ...]
    cuda: str | None
    cudnn: str | None
    status: str  # "current", or "retired": documented once, no longer built
    python: str | None
    cite: str  # the document or commit its facts come from
    base: str | None = None
    environment: str | None = None
    # "azmlinfsrv": Azure ML's inference server runs the entry script; "own": the image serves by itself
    server: str = "azmlinfsrv"

    @property
    def serves_itself(self) -> bool:
        """The image's own command serves (the foundation-model images): no entry script, no azmlinfsrv."""
        return self.server == "own"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.image, self.mcr, self.curated_environment)

    @property
    def source(self) -> str:
        return f"--aml-curated {self.curated_environment}"

    def expectations(self) -> list[Expectation]:
        """Framework first, then the preinstalled packages (which may pin the framework more precisely)."""
        found = [self.framework_expectation()] + [
            parse_expectation(text, self.source) for text in self.packages
        ]
        return list(merge([item for item in found if item is not None]))

    def cuda_expectation(self, library: str) -> Expectation | None:
        """The GPU row's CUDA or cuDNN version; nothing for CPU rows."""
        version = self.cuda if library == "cuda" else self.cudnn
        return parse_library_expectation(version, self.source, library) if version else None

    def framework_expectation(self) -> Expectation | None:
        if not (self.framework and self.framework_version):
            return None
        pinned = [
            e
            for e in map(lambda t: parse_expectation(t, self.source), self.packages)
            if e and e.name == self.framework
        ]
        return (
            pinned[0]
            if pinned
            else expectation(self.framework, f"=={self.framework_version}.*", self.source)
        )


@lru_cache(maxsize=1)
def entries() -> tuple[CatalogEntry, ...]:
    raw: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("catalog.json").read_text()
    )
    return tuple(
        CatalogEntry(**{**row, "packages": tuple(row["packages"])}) for row in raw["images"]
    )


def find(name: str, source: str = "--aml-curated") -> CatalogEntry:
    """Look up by curated environment name, MCR path (tag optional) or short image name."""
    wanted = name.strip().lower()
    base = wanted.rsplit(":", 1)[0] if wanted.count(":") == 1 else wanted
    for entry in entries():
        if base in (n.lower() for n in entry.names):
            return entry
    raise AmlUsageError(
        f"unknown curated environment {name!r} (from {source}): run `pytest --aml-list-curated` for the "
        "names it accepts"
    )


def by_names(names: list[str]) -> CatalogEntry | None:
    """The row one of ``names`` is (a base label's value, e.g. ``org.opencontainers.image.base.name``)."""
    for name in names:
        try:
            return find(name)
        except AmlUsageError:
            continue
    return None


def named_in(text: str | None) -> CatalogEntry | None:
    """The row a free text names (``/IMAGE_INFORMATION``, whose format is not documented).

    Any of a row's names counts, as a whole word ('/' and ':' end a word, so an MCR path with a tag
    names its row); the longest name wins, so ``minimal-py312-inference`` is not found inside
    ``minimal-py312-cuda12.4-inference``'s text.
    """
    if not text:
        return None
    names = sorted(
        ((n.lower(), e) for e in entries() for n in e.names), key=lambda pair: -len(pair[0])
    )
    lowered = text.lower()
    for name, entry in names:
        if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])", lowered):
            return entry
    return None


def by_layers(
    layers: list[str], local_images: list[tuple[list[str], list[str]]]
) -> CatalogEntry | None:
    """The row of a local catalog image whose layers start ``layers``: the image's base.

    ``local_images``: (tags, layers) of the images the engine holds.
    """
    for tags, base_layers in local_images:
        if base_layers and layers[: len(base_layers)] == base_layers:
            found = by_names(tags)
            if found is not None:
                return found
    return None


def table() -> str:
    """The catalog as a plain-text table for `pytest --aml-list-curated`."""
    header = (
        "curated environment",
        "status",
        "Python",
        "framework",
        "device",
        "packages",
        "CUDA",
        "cuDNN",
    )
    rows = [header] + [
        (
            e.curated_environment,
            e.status,
            e.python or "-",
            f"{FRAMEWORK_LABELS.get(e.framework or '', e.framework or '-')} {e.framework_version or ''}".strip(),
            e.device.upper(),
            ", ".join(e.packages) or "-",
            e.cuda or "-",
            e.cudnn or "-",
        )
        for e in entries()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return (
        "\n".join(lines)
        + "\n\nImages: mcr.microsoft.com/azureml/<short name>:latest; --aml-curated takes any of the three names."
        + "\nretired: the 2021 documentation's images; current: Azure/azureml-assets and today's documentation."
    )
