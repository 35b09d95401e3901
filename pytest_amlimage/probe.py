"""One exec of one script gives every fact about the image's Python environment."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

from packaging.utils import canonicalize_name

from .container import ExecResult

BEGIN = "@@AMLIMAGE-PROBE-BEGIN@@"
END = "@@AMLIMAGE-PROBE-END@@"
UID_MARK = "@@AMLIMAGE-UID@@"
NO_PYTHON = "@@AMLIMAGE-NO-PYTHON@@"
# Finds the image's own python on PATH; the probe script arrives as "$1", never interpolated.
LAUNCHER = (
    f'printf "{UID_MARK}%s\\n" "$(id -u 2>/dev/null)"; '
    "for p in python python3; do "
    'if command -v "$p" >/dev/null 2>&1; then exec "$p" -c "$1"; fi; '
    f"done; echo {NO_PYTHON}; exit 127"
)


class Executor(Protocol):
    def exec(self, command: list[str]) -> ExecResult: ...


@dataclass(frozen=True)
class Distribution:
    name: str
    version: str
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Facts:
    """What the probe found; ``python_error`` is set when there was no Python to ask."""

    uid: int | None
    python_error: str | None = None
    python_version: str | None = None
    user_name: str | None = None
    os_release: dict[str, str] = field(default_factory=dict)
    markers: dict[str, str] = field(default_factory=dict)
    distributions: dict[str, Distribution] = field(default_factory=dict)
    broken_distributions: tuple[str, ...] = ()
    frameworks: dict[str, dict[str, Any]] = field(default_factory=dict)
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def version_of(self, name: str) -> str | None:
        dist = self.distributions.get(name)
        return dist.version if dist else None


def script() -> str:
    """The in-container script: the GPU evidence functions, then the environment probe and its main()."""
    files = resources.files(__package__)
    return files.joinpath("probe_gpu.py").read_text() + "\n\n" + files.joinpath("probe_script.py").read_text()


def run_probe(container: Executor) -> Facts:
    result = container.exec(["sh", "-c", LAUNCHER, "amlimage-probe", script()])
    return parse(result)


def _uid(text: str) -> int | None:
    start = text.find(UID_MARK)
    if start < 0:
        return None
    value = text[start + len(UID_MARK) :].split("\n", 1)[0].strip()
    return int(value) if value.isdigit() else None


def parse(result: ExecResult) -> Facts:
    """Facts from the probe's output; banners and warnings around the framed JSON are ignored."""
    uid = _uid(result.output)
    if NO_PYTHON in result.output:
        return Facts(uid, python_error="no `python` or `python3` on the image's PATH")
    start, end = result.output.rfind(BEGIN), result.output.rfind(END)
    if start < 0 or end < start:
        detail = (result.stderr or result.output).strip()[-1500:] or f"exit code {result.exit_code}"
        return Facts(uid, python_error=f"the probe did not finish: {detail}")
    raw = json.loads(result.output[start + len(BEGIN) : end])
    return from_json(raw, uid)


def from_json(raw: dict[str, Any], uid: int | None = None) -> Facts:
    dists = {
        str(canonicalize_name(key)): Distribution(value["name"], value["version"], tuple(value.get("requires") or ()))
        for key, value in raw.get("distributions", {}).items()
    }
    return Facts(
        uid=raw.get("user", {}).get("uid", uid),
        python_version=raw.get("python", {}).get("version"),
        user_name=raw.get("user", {}).get("name"),
        os_release=raw.get("os_release", {}),
        markers=raw.get("markers", {}),
        distributions=dists,
        broken_distributions=tuple(raw.get("broken_distributions", ())),
        frameworks=raw.get("frameworks", {}),
        folders=raw.get("folders", {}),
        raw=raw,
    )
