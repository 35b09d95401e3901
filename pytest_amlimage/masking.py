"""How a credential is shown on the host: never whole (the in-image probe masks its findings the same way)."""

from __future__ import annotations

import re

# a URL's user information: a user (a token may be one) and perhaps a password
URL_CREDENTIALS = re.compile(
    r"\b[a-z][a-z0-9+.-]*://([^/\s:@'\"]+)(?::([^/\s@'\"]+))?@", re.IGNORECASE
)


def mask(value: str) -> str:
    """A credential as shown: its first three characters of a long one, and its length."""
    return (value[:3] + "***" if len(value) > 8 else "***") + f" ({len(value)} characters)"


def masked(text: str) -> str:
    """``text`` with every URL's user information hidden (a RUN line may carry a feed's token)."""
    return URL_CREDENTIALS.sub(lambda found: found.group(0).split("://")[0] + "://***@", text)
