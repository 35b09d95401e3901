"""CUDA and cuDNN: resolve the probe's evidence to one version per library, and check it.

Evidence comes from separate installations: ``system`` (what NVIDIA's CUDA images
install: environment, /usr/local/cuda, the loader's path), ``pip`` (NVIDIA's wheels,
as frameworks bring them) and ``framework`` (what torch or TensorFlow was built
with). Two installations may legitimately differ; a contradiction is evidence
within one installation that disagrees (an ENV line that is not the library it
describes).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.specifiers import SpecifierSet

from pytest_amlimage.config.expectations import Expectation, parse_specifier, satisfies
from pytest_amlimage.engine.container import ExecResult
from pytest_amlimage.errors import CheckFailed
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


def _claimed_but_absent(library: str, by_origin: dict[str, list[Evidence]], real: set[str]) -> list[str]:
    """Environment variables naming a runtime that no installation with a library of its own provides."""
    runtimes = {origin: _best(items) for origin, items in by_origin.items() if origin in real and origin != "framework"}
    if not runtimes:
        return []
    present = ", ".join(
        f"{'.'.join(map(str, best.parts[: AGREEING_PARTS[library]]))} ({origin})" for origin, best in runtimes.items()
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
    real = {origin for origin, found in by_origin.items() if origin == "framework" or _anchor(found) is not None}
    runtimes = {o: v for o, v in by_origin.items() if o in real} if real - {"framework"} else by_origin
    chosen: Evidence | None = None
    frameworks = runtimes.get("framework", [])
    if frameworks:
        loaded = [_best(v) for o, v in runtimes.items() if o != "framework" and agree(_best(v), frameworks[0])]
        chosen = loaded[0] if loaded else frameworks[0]
    elif runtimes:
        chosen = _best(runtimes.get("system") or runtimes.get("pip") or next(iter(runtimes.values())))
    return Resolution(
        library,
        chosen.version if chosen else None,
        chosen.origin if chosen else None,
        tuple(items),
        tuple(_contradictions(library, by_origin) + _claimed_but_absent(library, by_origin, real)),
    )


BARE_VERSION = re.compile(r"^\s*v?(\d+(?:\.\d+)*)\s*$")


def parse_expectation(text: str, source: str, library: str) -> Expectation | None:
    """``none`` (no runtime at all), a PEP 440 specifier (``>=12``, ``==11.0.3``), or a bare version.

    A bare version is a prefix, as image names write them: ``13.0`` means ``==13.0.*`` and so takes
    13.0.2, and ``9.19`` takes 9.19.0.56; ``11.0.3`` still takes 11.0.3 itself.
    """
    if text.strip().lower() == "none":
        return Expectation(library, SpecifierSet(), "none", source)
    bare = BARE_VERSION.match(text)
    specifier = parse_specifier(f"=={bare.group(1)}.*" if bare else text, source, f"{library} {text}")
    return None if specifier is None else Expectation(library, specifier, text, source)


def check_version(expected: Expectation, resolution: Resolution) -> None:
    label = LIBRARIES[resolution.library]
    if expected.text == "none":
        if resolution.version is not None:
            raise CheckFailed(
                f"expected no {label} runtime ({expected.source}), but found {resolution.version}:\n"
                f"{resolution.listing()}"
            )
        return
    if resolution.version is None:
        raise CheckFailed(f"no {label} found; {expected.shown} expected by {expected.source}:\n{resolution.listing()}")
    if not satisfies(expected.specifier, resolution.version):
        raise CheckFailed(
            f"{label} {resolution.version} ({resolution.origin}) does not satisfy {expected.shown} "
            f"(expected by {expected.source}); evidence:\n{resolution.listing()}"
        )


def check_consistent(resolutions: list[Resolution]) -> None:
    found = [line for r in resolutions for line in r.contradictions]
    if found:
        raise CheckFailed(
            "\n".join(found) + "\nthe environment names versions the libraries do not have: "
            "fix the ENV lines (CUDA_VERSION, NV_CUDNN_VERSION, ...) or the base image"
        )


def check_framework_build(cuda: Resolution) -> None:
    """The framework was built for the CUDA major the image's runtime has."""
    runtime = [e for e in cuda.evidence if e.origin != "framework" and e.parts]
    for built in (e for e in cuda.evidence if e.origin == "framework" and e.parts):
        majors = sorted({e.parts[0] for e in runtime})
        if majors and built.parts[0] not in majors:
            raise CheckFailed(
                f"{built.source} is for CUDA {built.version}, but the image's CUDA runtime is "
                f"{', '.join(map(str, majors))}.x:\n{cuda.listing()}\ninstall the framework build for the image's CUDA"
            )


FRAMEWORK_SEES_GPU = {
    "torch": "import torch; print(torch.cuda.is_available())",
    "tensorflow": "import tensorflow as tf; print(bool(tf.config.list_physical_devices('GPU')))",
}


def check_gpu_visible(exec_result: ExecResult) -> None:
    """``nvidia-smi -L`` in the container lists a GPU."""
    if exec_result.exit_code != 0 or "GPU " not in exec_result.output:
        raise CheckFailed(
            f"nvidia-smi -L in the container did not list a GPU (exit {exec_result.exit_code}): "
            f"{(exec_result.output + exec_result.stderr).strip()[:500]}"
        )


def check_framework_sees_gpu(module: str, exec_result: ExecResult) -> None:
    if exec_result.output.strip().splitlines()[-1:] != ["True"]:
        raise CheckFailed(
            f"{module} does not see the GPU: {(exec_result.output + exec_result.stderr).strip()[-800:]}\n"
            "check that the framework build matches the image's CUDA (see cuda-framework)"
        )
