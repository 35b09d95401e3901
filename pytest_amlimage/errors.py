"""The plugin's errors: users' mistakes are pytest usage errors; failed checks carry their report."""

from __future__ import annotations

import pytest

# A bad option, spec file or environment: pytest exits with code 4 and prints one line.
AmlUsageError = pytest.UsageError


class CheckFailed(Exception):
    """A built-in check found the image wanting; the message is the whole report.

    ``figures``: what the check measured before it failed (a ``checks.check`` record), for the summary.
    """

    figures: object = None


class NotApplicable(Exception):
    """A built-in check has nothing to judge on this image (no schema, no readings): the item skips, saying why."""


class Unavailable(CheckFailed):
    """What a check needs is not there (the container, a serving server) for a cause of its own.

    The first check that meets the cause fails with it; the others skip, naming that check and the
    cause's first line: one cause, one failure.
    """


class EngineLost(Unavailable):
    """The Docker engine stopped answering: the run's one cause, whichever image's check met it first."""
