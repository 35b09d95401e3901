"""The built-in checks as pytest items: one collector per image, one item per check."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from . import catalog, checks, scoring_checks
from .checks import Check
from .errors import CheckFailed
from .expectations import Expectation, merge
from .session import ImageRun

FRAMEWORK_MODULES = {
    "torch": "torch",
    "tensorflow": "tensorflow",
    "scikit-learn": "sklearn",
    "onnxruntime": "onnxruntime",
    "xgboost": "xgboost",
}


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, image: ImageRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.image = image
        self.add_marker(pytest.mark.amlimage)

    def runtest(self) -> None:
        self.check.run()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CheckFailed):
            return f"{self.image.reference} {self.check.id}: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.image.reference, None, f"{self.image.reference}::{self.check.id}"


class ImageCollector(pytest.Collector):
    def __init__(self, *, image: ImageRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image = image

    def collect(self) -> list[CheckItem]:
        return [CheckItem.from_parent(self, name=c.id, check=c, image=self.image) for c in builtin_checks(self.image)]


def _curated(image: ImageRun) -> tuple[catalog.CatalogEntry | None, Check | None]:
    name = image.session.settings.curated
    if name is None:
        return None, None
    if name.lower() != "auto":
        return catalog.find(name), None
    entry = image.session.detect_curated(image)
    if entry is not None:
        return entry, None

    def undetected() -> None:
        raise CheckFailed(
            f"--aml-curated auto: cannot tell which curated image {image.reference} was built from "
            "(no org.opencontainers.image.base.name label, and no local catalog image is its base); "
            "name it: --aml-curated NAME (see pytest --aml-list-curated)"
        )

    return None, Check("curated", undetected)


def _expectations(
    image: ImageRun, entry: catalog.CatalogEntry | None
) -> tuple[tuple[Expectation, ...], Expectation | None]:
    settings = image.session.settings
    framework = settings.framework or (entry.framework_expectation() if entry else None)
    base = entry.expectations() if entry else []
    merged = merge(base, list(settings.expectations))
    return tuple(e for e in merged if framework is None or e.name != framework.name), framework


def builtin_checks(image: ImageRun) -> Iterator[Check]:
    settings = image.session.settings
    entry, curated_check = _curated(image)
    expectations, framework = _expectations(image, entry)
    yield Check("non-root", lambda: checks.non_root(image.config_user, image.facts()))
    yield Check("app-permissions", lambda: checks.app_permissions(image.facts()))
    if curated_check:
        yield curated_check
    for expected in expectations:
        yield Check(f"version[{expected.name}]", lambda e=expected: checks.version(e, image.facts()))  # type: ignore[misc]
    if framework is not None:
        module = FRAMEWORK_MODULES.get(framework.name, framework.name.replace("-", "_"))
        yield Check(f"framework[{framework.name}]", lambda: checks.framework(framework, module, image.facts()))
    yield Check("pip-check", lambda: checks.pip_check(image.facts()))
    if settings.requirements is not None:
        path = settings.requirements
        yield Check(
            "requirements", lambda: checks.requirements(path.read_text().splitlines(), str(path), image.facts())
        )
    yield from scoring_checks.builtin_checks(image)
