"""The base's age: from its dated tag (20260301.v1) or its creation date, against the six months supported."""

from __future__ import annotations

from datetime import date

import pytest

from pytest_amlimage.checks.base_age import base_age
from pytest_amlimage.checks.check import BaseFigures
from pytest_amlimage.engine.origin import Base, created_date, from_image_information, tag_date
from pytest_amlimage.errors import CheckFailed, NotApplicable

TODAY = date(2026, 11, 24)


def test_dates_from_tags_and_timestamps() -> None:
    assert tag_date(
        "mcr.microsoft.com/azureml/curated/minimal-py311-inference:20260301.v1"
    ) == date(2026, 3, 1)
    assert tag_date("myregistry:5000/base:20251130") == date(2025, 11, 30)
    assert tag_date("mcr.microsoft.com/azureml/minimal-py312-inference:latest") is None
    assert tag_date("base:20261399.v1") is None
    assert created_date("2026-03-01T12:00:00.123456789Z") == date(2026, 3, 1)
    assert created_date("") is None


def test_a_base_older_than_the_limit_fails_with_the_remedy() -> None:
    old = Base(
        "mcr.microsoft.com/azureml/minimal-py312-inference:20250101.v1", date(2025, 1, 1), "its tag"
    )
    with pytest.raises(
        CheckFailed,
        match=r"from 2025-01-01 \(its tag\): 692 days old, over the limit of 183.*--aml-rebase",
    ) as failed:
        base_age(old, 183, TODAY)
    assert failed.value.figures == BaseFigures(old.reference, "2025-01-01", 692, 183)
    assert base_age(old, 0, TODAY).age_days == 692  # switched off: the age is still reported
    base_age(Base("b:20260601.v1", date(2026, 6, 1), "its tag"), 183, TODAY)


def test_an_unknown_base_is_not_applicable_with_the_reason() -> None:
    with pytest.raises(NotApplicable, match="b:latest has no dated tag and is not on the engine"):
        base_age(Base("b:latest", None, "its tag"), 183, TODAY)


def test_the_base_from_image_information() -> None:
    text = "Image: mcr.microsoft.com/azureml/curated/minimal-py311-inference:20250115.v2\nBuilt by azureml-assets\n"
    base = from_image_information(text)
    assert base is not None and base.dated == date(2025, 1, 15)
    assert base.reference == "mcr.microsoft.com/azureml/curated/minimal-py311-inference:20250115.v2"
    dated_only = from_image_information("Build date: 2026-02-03\n")
    assert dated_only is not None and dated_only.dated == date(2026, 2, 3)
    assert from_image_information("nothing useful") is None and from_image_information(None) is None
