"""The plugin's exceptions: one for users' mistakes, one for failed checks."""

from __future__ import annotations

import pytest


class AmlUsageError(pytest.UsageError):
    """A bad option, spec file or environment: pytest exits with code 4 and one line."""


class CheckFailed(Exception):
    """A built-in check found the image wanting; the message is the whole report."""
