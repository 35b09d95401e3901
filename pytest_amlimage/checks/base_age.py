"""How old the image's base is: Azure ML supports prebuilt image tags up to six months older than latest."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

import pytest

from pytest_amlimage.checks.check import Properties, endpoint_figures
from pytest_amlimage.errors import CheckFailed

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


def base_age(base: Base | None, limit_days: int, today: date) -> None:
    """The base is no older than ``limit_days`` (0: no limit)."""
    if base is None or base.dated is None:
        what = (
            f"{base.reference} has no dated tag and is not on the engine"
            if base
            else "no base is known"
        )
        raise pytest.skip.Exception(
            f"cannot tell the base's age: {what} (build with --aml-build, or label the image "
            "org.opencontainers.image.base.name)",
            _use_item_location=True,
        )
    age = (today - base.dated).days
    if limit_days and age > limit_days:
        raise CheckFailed(
            f"the base {base.reference} is from {base.dated} ({base.how}): {age} days old, over the limit of "
            f"{limit_days} (Azure ML supports tags up to six months older than latest). Rebase it: "
            f"--aml-rebase=<its latest tag>, or --aml-max-base-age=0 to switch the check off"
        )


def base_properties(base: Callable[[], Base | None], limit_days: int, today: date) -> Properties:
    """The base's reference, date and age against the limit, where the base has a date."""
    found = base()
    if found is None or found.dated is None:
        return []
    figures = {
        "reference": found.reference,
        "date": found.dated.isoformat(),
        "age_days": (today - found.dated).days,
    }
    return endpoint_figures({"base": {**figures, "limit_days": limit_days}})
