"""CUDA and cuDNN: resolve the probe's evidence to one version per library.

Evidence comes from separate installations: ``system`` (what NVIDIA's CUDA images
install: environment, /usr/local/cuda, the loader's path), ``pip`` (NVIDIA's wheels,
as frameworks bring them) and ``framework`` (what torch or TensorFlow was built
with). Two installations may legitimately differ; a contradiction is evidence
within one installation that disagrees (an ENV line that is not the library it
describes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pytest_amlimage.probe import Evidence

LIBRARIES = {"cuda": "CUDA", "cudnn": "cuDNN"}
# Components that must agree: CUDA toolkit 12.9.1 ships cudart 12.9.79, so CUDA is compared on major.minor.
AGREEING_PARTS = {"cuda": 2, "cudnn": 3}


@dataclass(frozen=True)
class Resolution:
    library: str
    version: str | None
    origin: str | None
    evidence: tuple[Evidence, ...]
    contradictions: tuple[str, ...]

    def listing(self) -> str:
        lines = [f"  [{e.origin}] {e.shown()}" for e in self.evidence]
        return "\n".join(lines) or "  (none: no environment variable, file or library names it)"


def agree(a: Evidence, b: Evidence) -> bool:
    depth = min(len(a.parts), len(b.parts), AGREEING_PARTS[a.library])
    return a.parts[:depth] == b.parts[:depth]


def _anchor(items: list[Evidence]) -> Evidence | None:
    """The most precise evidence from the libraries themselves (files, names, calls), not the environment."""
    anchors = [e for e in items if not e.from_env]
    return max(anchors, key=lambda e: len(e.parts)) if anchors else None


def _best(items: list[Evidence]) -> Evidence:
    """The most precise version that agrees with the libraries (a toolkit version wins ties)."""
    anchor = _anchor(items)
    trusted = [e for e in items if anchor is None or agree(e, anchor)]
    return max(trusted, key=lambda e: (e.toolkit, len(e.parts)))


def _contradictions(library: str, by_origin: dict[str, list[Evidence]]) -> list[str]:
    """Within one installation, whatever disagrees with its libraries (files and names are the truth)."""
    found = []
    for origin, items in by_origin.items():
        anchor = _anchor(items)
        if origin == "framework" or anchor is None:
            continue
        found += [
            f"{LIBRARIES[library]} [{origin}]: {item.shown()} contradicts {anchor.shown()}"
            for item in items
            if not agree(item, anchor)
        ]
    return found


def _claimed_but_absent(
    library: str, by_origin: dict[str, list[Evidence]], real: set[str]
) -> list[str]:
    """Environment variables naming a runtime that no installation with a library of its own provides."""
    runtimes = {
        origin: _best(items)
        for origin, items in by_origin.items()
        if origin in real and origin != "framework"
    }
    if not runtimes:
        return []
    present = ", ".join(
        f"{'.'.join(map(str, best.parts[: AGREEING_PARTS[library]]))} ({origin})"
        for origin, best in runtimes.items()
    )
    return [
        f"{item.source.removeprefix('env ')} names {item.version}, but no {LIBRARIES[library]} {item.parts[0]} runtime "
        f"is in the image; the runtime present is {present}"
        for origin, items in by_origin.items()
        if origin not in real
        for item in items
        if item.parts and not any(agree(item, best) for best in runtimes.values())
    ]


def resolve(evidence: Sequence[Evidence], library: str) -> Resolution:
    """One version: the installation the framework loads, else the system's, else pip's.

    Only installations with a library of their own count as runtimes: environment variables alone
    (an image that says CUDA_VERSION=11.0.3 over a CUDA 12 wheel) are not one.
    """
    items = [item for item in evidence if item.library == library]
    by_origin: dict[str, list[Evidence]] = {}
    for item in items:
        if item.version:
            by_origin.setdefault(item.origin, []).append(item)
    real = {
        origin
        for origin, found in by_origin.items()
        if origin == "framework" or _anchor(found) is not None
    }
    runtimes = (
        {o: v for o, v in by_origin.items() if o in real} if real - {"framework"} else by_origin
    )
    chosen: Evidence | None = None
    frameworks = runtimes.get("framework", [])
    if frameworks:
        loaded = [
            _best(v)
            for o, v in runtimes.items()
            if o != "framework" and agree(_best(v), frameworks[0])
        ]
        chosen = loaded[0] if loaded else frameworks[0]
    elif runtimes:
        chosen = _best(
            runtimes.get("system") or runtimes.get("pip") or next(iter(runtimes.values()))
        )
    return Resolution(
        library,
        chosen.version if chosen else None,
        chosen.origin if chosen else None,
        tuple(items),
        tuple(_contradictions(library, by_origin) + _claimed_but_absent(library, by_origin, real)),
    )
