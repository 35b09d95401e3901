"""The built-in checks as pytest items: one collector per image, one item per check."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_amlimage.checks.assemble import Context, checks_for
from pytest_amlimage.checks.check import Check, Figures, figures_of
from pytest_amlimage.engine import docker_engine
from pytest_amlimage.errors import CheckFailed, EngineLost, NotApplicable, Unavailable
from pytest_amlimage.run.image import ImageRun
from pytest_amlimage.run.memory import PHASES, phase_of


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, image: ImageRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.image = image
        self.add_marker(pytest.mark.amlimage)

    def runtest(self) -> None:
        self.image.enter(self.check.id)
        figures: Figures | None = None
        try:
            figures = self._run()
        except NotApplicable as reason:
            raise pytest.skip.Exception(str(reason), _use_item_location=True) from None
        except CheckFailed as failed:
            figures = figures_of(failed)
            first = str(failed).partition("\n")[0]
            reporter = self._reporter(first, session_wide=isinstance(failed, EngineLost))
            if isinstance(failed, Unavailable) and reporter is not None:
                skip = f"not run: {reporter} failed: {first}"
                raise pytest.skip.Exception(skip, _use_item_location=True) from None
            raise
        finally:
            self.image.leave(self.check.id)
            self.user_properties += self._properties(figures)

    def _reporter(self, first: str, session_wide: bool) -> str | None:
        """The check that reported a failure with this first line before (None: this one is the first).

        The engine lost is the session's one cause, whichever image met it; any other, the image's own.
        """
        reported, me = (
            (self.image.runner.lost_reported, f"{self.image.reference}::{self.check.id}")
            if session_wide
            else (self.image.reported, self.check.id)
        )
        reporter = reported.setdefault(first, me)
        return None if reporter == me else reporter

    def _properties(self, figures: Figures | None) -> list[tuple[str, object]]:
        """The image's facts and the check's figures (JSON-safe: they cross xdist into JUnit XML)."""
        return self.image.properties() + ([figures.property()] if figures is not None else [])

    def _run(self) -> Figures | None:
        """The check; an engine that stopped answering under it is the run's cause, not the check's."""
        try:
            return self.check.run()
        except Exception as error:
            if isinstance(error, CheckFailed) or not docker_engine.lost(error):
                raise
            raise EngineLost(docker_engine.lost_message(error)) from None

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        """The check and its cause: the image is in the node id (``IMAGE::CHECK``), so the FAILED line's width
        goes to the cause."""
        if isinstance(excinfo.value, CheckFailed):
            return f"{self.check.id}: {excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def reportinfo(self) -> tuple[str, int, str]:
        return self.image.reference, 0, f"{self.image.reference}::{self.check.id}"


class ImageCollector(pytest.Collector):
    def __init__(self, *, image: ImageRun, context: Context, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.image, self.context = image, context

    def collect(self) -> list[CheckItem]:
        found = list(checks_for(self.image, self.image.settings, self.context))
        scoring = [check.id for check in found if phase_of(check.id) in PHASES.values()]
        self.image.last_scoring = scoring[-1] if scoring else None
        return [CheckItem.from_parent(self, name=c.id, check=c, image=self.image) for c in found]
