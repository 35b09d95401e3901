"""Names the user gives that are read before anything runs: image references, and the plugin's own labels."""

from __future__ import annotations

import re

from pytest_amlimage.errors import AmlUsageError

PLUGIN_LABEL = "io.github.pytest-amlimage"  # every container the plugin makes; users' --aml-label may not use it
_REFERENCE = re.compile(
    r"^(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)


def check_references(references: tuple[str, ...], source: str) -> tuple[str, ...]:
    """The image references, each once; a usage error for one the engine could not parse."""
    for reference in references:
        if not _REFERENCE.match(reference):
            raise AmlUsageError(
                f"invalid image reference {reference!r} (from {source}): use NAME[:TAG] or NAME@sha256:DIGEST"
            )
    return tuple(dict.fromkeys(references))


def suffixed(reference: str, suffix: str) -> str:
    """A tag beside ``reference``'s: ``NAME:TAG-SUFFIX`` (TAG ``latest`` when it has none; a digest dropped)."""
    named = reference.split("@", 1)[0]
    name, _, tag = (
        named.rpartition(":") if ":" in named.rsplit("/", 1)[-1] else (named, "", "latest")
    )
    return f"{name}:{tag[: 127 - len(suffix)]}-{suffix}"  # a tag has at most 128 characters


def file_safe(reference: str) -> str:
    """``reference`` as a file name: every run of characters a file name should not hold becomes one hyphen."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", reference).strip("-")
