"""Where an image comes from: the base it was built from (and that base's date), and its curated catalog row."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_amlimage.checks.base_age import BASE_LABELS, Base, created_date, from_image_information, tag_date
from pytest_amlimage.config import catalog
from pytest_amlimage.engine import client as engine

if TYPE_CHECKING:
    from pytest_amlimage.run.session import AmlSession, ImageRun

IMAGE_INFORMATION = "/IMAGE_INFORMATION"  # what Azure ML's prebuilt images say of themselves, where present


def labelled_bases(image: ImageRun) -> list[str]:
    return [image.info.labels[key] for key in BASE_LABELS if key in image.info.labels]


def base_of(session: AmlSession, image: ImageRun) -> Base | None:
    """The base ``image`` was built from (the Dockerfile's, the rebase's, its label's or /IMAGE_INFORMATION's)."""
    reference = None
    if image is session.built and session.dockerfile is not None:
        reference = session.settings.rebase or session.dockerfile.base
    reference = reference or next(iter(labelled_bases(image)), None)
    if not reference:
        return from_image_information(image.facts().image_information)
    dated, how = tag_date(reference), "its tag"
    if dated is None and session.client is not None:
        local = engine.local_image(session.client, reference)
        dated, how = (created_date(local.created) if local else None), "its creation date on the engine"
    return Base(reference, dated, how)


def curated_row(session: AmlSession, image: ImageRun) -> catalog.CatalogEntry | None:
    """The catalog row ``image`` was built from: by its base label, its /IMAGE_INFORMATION, or shared layers.

    Decided at collection, before any container runs: the file is read from a container created for
    it and never started.
    """
    client = session.client
    assert client is not None
    return (
        catalog.by_names(labelled_bases(image))
        or catalog.named_in(engine.read_file(client, image.reference, IMAGE_INFORMATION, session.container_labels()))
        or catalog.by_layers(list(image.info.layers), _local_catalog_images(session))
    )


def _local_catalog_images(session: AmlSession) -> list[tuple[list[str], list[str]]]:
    assert session.client is not None
    return [(list(found.tags), list(found.layers)) for found in engine.local_images(session.client, "azureml/")]
