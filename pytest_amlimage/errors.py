"""The plugin's errors: users' mistakes are pytest usage errors; failed checks carry their report."""

from __future__ import annotations

import pytest

# A bad option, spec file or environment: pytest exits with code 4 and prints one line.
AmlUsageError = pytest.UsageError


class CheckFailed(Exception):
    """A built-in check found the image wanting; the message is the whole report."""
