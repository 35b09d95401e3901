"""Where an image comes from: the base it was built from (and that base's date), and its curated catalog row."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Callable

from pytest_amlimage.config import catalog
from pytest_amlimage.engine import docker_engine
from pytest_amlimage.engine.image_info import ImageInfo

if TYPE_CHECKING:
    import docker

# what Azure ML's prebuilt images say of themselves, where present
IMAGE_INFORMATION = "/IMAGE_INFORMATION"

BASE_LABELS = ("org.opencontainers.image.base.name", "com.microsoft.azureml.base-image")
# the prebuilt images' tags: 20260301.v1
DATED_TAG = re.compile(r":(\d{4})(\d{2})(\d{2})(?:\.v\d+)?$")


@dataclass(frozen=True)
class Base:
    reference: str
    dated: date | None
    how: str  # where the date comes from


def tag_date(reference: str) -> date | None:
    match = DATED_TAG.search(reference)
    if match is None:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


AZUREML_REFERENCE = re.compile(r"mcr\.microsoft\.com/azureml/[\w./-]+:\d{8}(?:\.v\d+)?")
ISO_DATE = re.compile(r"\b(20\d\d)-(\d\d)-(\d\d)\b")


def from_image_information(text: str | None) -> Base | None:
    """The base named in /IMAGE_INFORMATION: a dated Azure ML image reference, else the first date in it."""
    if not text:
        return None
    reference = AZUREML_REFERENCE.search(text)
    if reference:
        return Base(
            reference.group(0), tag_date(reference.group(0)), "its tag, in /IMAGE_INFORMATION"
        )
    found = ISO_DATE.search(text)
    if found is None:
        return None
    try:
        dated = date(int(found.group(1)), int(found.group(2)), int(found.group(3)))
    except ValueError:
        return None
    return Base("the image's base (/IMAGE_INFORMATION)", dated, "/IMAGE_INFORMATION")


def created_date(created: str) -> date | None:
    """The date of an inspect ``Created`` timestamp (2026-03-01T12:00:00.123456789Z)."""
    try:
        return datetime.strptime(created[:10], "%Y-%m-%d").date()
    except ValueError:
        return None


def labelled_bases(labels: Mapping[str, str]) -> list[str]:
    return [labels[key] for key in BASE_LABELS if key in labels]


def base_of(
    info: ImageInfo,
    built_on: str | None,
    image_information: Callable[[], str | None],
    client: docker.DockerClient | None,
) -> Base | None:
    """The base an image was built from: ``built_on`` (the Dockerfile's or the rebase's), its label's, or
    its /IMAGE_INFORMATION's (read by the probe, asked only when nothing else names one), with its date."""
    reference = built_on or next(iter(labelled_bases(info.labels)), None)
    if not reference:
        return from_image_information(image_information())
    dated, how = tag_date(reference), "its tag"
    if dated is None and client is not None:
        local = docker_engine.local_image(client, reference)
        dated, how = (
            (created_date(local.created) if local else None),
            "its creation date on the engine",
        )
    return Base(reference, dated, how)


def curated_row(
    reference: str, info: ImageInfo, client: docker.DockerClient, labels: dict[str, str]
) -> catalog.CatalogEntry | None:
    """The catalog row an image was built from: by its base label, its /IMAGE_INFORMATION, or shared layers.

    Decided at collection, before any container runs: the file is read from a container created for
    it (with ``labels``) and never started.
    """
    return (
        catalog.by_names(labelled_bases(info.labels))
        or catalog.named_in(docker_engine.read_file(client, reference, IMAGE_INFORMATION, labels))
        or catalog.by_layers(list(info.layers), _local_catalog_images(client))
    )


def _local_catalog_images(client: docker.DockerClient) -> list[tuple[list[str], list[str]]]:
    return [
        (list(found.tags), list(found.layers))
        for found in docker_engine.local_images(client, "azureml/")
    ]
