"""The inference server's breaking changes (``server_changes.json``, cited from its CHANGELOG and code)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from packaging.version import InvalidVersion, Version


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        resources.files(__package__).joinpath("server_changes.json").read_text()
    )
    return data


def package() -> str:
    return str(_data()["package"])


def between(old: str, new: str) -> list[str]:
    """The breaking changes crossed going from ``old`` to ``new`` (upgrading or going back), as lines."""
    try:
        low, high = sorted((Version(old), Version(new)))
    except InvalidVersion:
        return []
    return [_line(item) for item in _data()["changes"] if low < Version(item["version"]) <= high]


def behind_import(module: str) -> str | None:
    """The change that took ``module`` away from the server's environment, when one did."""
    for item in _data()["changes"]:
        if any(module == gone or module.startswith(gone + ".") for gone in item.get("modules", ())):
            return _line(item)
    return None


def _line(item: dict[str, Any]) -> str:
    return f"{item['version']}: {item['change']}"
