"""How old the image's base is: Azure ML supports prebuilt image tags up to six months older than latest."""

from __future__ import annotations

from datetime import date

from pytest_amlimage.checks.check import BaseFigures, attached
from pytest_amlimage.engine.origin import Base
from pytest_amlimage.errors import CheckFailed, NotApplicable


def base_age(base: Base | None, limit_days: int, today: date) -> BaseFigures:
    """The base is no older than ``limit_days`` (0: no limit)."""
    if base is None or base.dated is None:
        what = (
            f"{base.reference} has no dated tag and is not on the engine"
            if base
            else "no base is known"
        )
        raise NotApplicable(
            f"cannot tell the base's age: {what} (build with --aml-build, or label the image "
            "org.opencontainers.image.base.name)"
        )
    age = (today - base.dated).days
    figures = BaseFigures(base.reference, base.dated.isoformat(), age, limit_days)
    if limit_days and age > limit_days:
        with attached(figures):
            raise CheckFailed(
                f"the base {base.reference} is from {base.dated} ({base.how}): {age} days old, over the limit "
                f"of {limit_days} (Azure ML supports tags up to six months older than latest). Rebase it: "
                f"--aml-rebase=<its latest tag>, or --aml-max-base-age=0 to switch the check off"
            )
    return figures
