"""Upgrade regression: an image against its baseline image or its lock file (the policies on what changed)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol, TypeVar

from packaging.version import InvalidVersion, Version

from pytest_amlimage.checks.check import ChangeFigures, LatencyFigures, attached
from pytest_amlimage.config.expectations import Expectation
from pytest_amlimage.endpoint import server_changes
from pytest_amlimage.endpoint.capacity import TypeCapacity
from pytest_amlimage.endpoint.samples import Sample, Tolerance, require_same
from pytest_amlimage.endpoint.scoring import Sending, post_sample
from pytest_amlimage.errors import CheckFailed, NotApplicable
from pytest_amlimage.probe.snapshot import Change, as_json, diff

if TYPE_CHECKING:
    from pytest_amlimage.engine.container import AmlContainer

T = TypeVar("T")  # what a policy allows: versions, or names
WATCHED = ("numpy", "pandas", "torch", "tensorflow", "scikit-learn", "onnxruntime", "xgboost")
LATENCY_REQUESTS = 5


@dataclass(frozen=True)
class Side:
    """One image of a comparison: its reference, and its snapshot and serving container, fetched when asked."""

    reference: str
    snapshot: Callable[[], dict[str, Any]]
    serving: Callable[[], AmlContainer]


class Comparison:
    """One candidate against its reference: the baseline image's snapshot or the lock's."""

    def __init__(
        self,
        image: Side,
        baseline: Side | None,
        lock: dict[str, Any] | None,
        lock_path: Path | None,
    ) -> None:
        self.image = image
        self.baseline = baseline
        self.lock = lock
        self.against = f"baseline {baseline.reference}" if baseline else f"lock {lock_path}"

    @cached_property
    def old_snapshot(self) -> dict[str, Any]:
        return self.baseline.snapshot() if self.baseline else dict(self.lock or {})

    @cached_property
    def changes(self) -> list[Change]:
        return diff(self.old_snapshot, self.image.snapshot())

    @cached_property
    def figures(self) -> ChangeFigures:
        """What changed, as the three policies on changes report it (computed once for the three)."""
        changes, server = as_json(self.changes), server_breaking_changes(self.changes)
        return ChangeFigures(self.image.reference, self.against, changes, server)


def parity(comparison: Comparison, sample: Sample, sending: Sending, tolerance: Tolerance) -> None:
    assert comparison.baseline is not None
    answers = []
    for image in (comparison.baseline, comparison.image):
        answer = post_sample(image.serving(), sample.body, sending.timeout, sending.route)
        if answer.status != 200:
            raise CheckFailed(
                f"{image.reference} answered {answer.status} to {sample.name}: {answer.body[:300]!r}"
            )
        answers.append(answer.json())
    require_same(
        answers[1],
        answers[0],
        tolerance,
        f"{sample.name}: the response differs from {comparison.against}",
    )


def _median_seconds(image: Side, sample: Sample, sending: Sending) -> float:
    container = image.serving()
    return statistics.median(
        post_sample(container, sample.body, sending.timeout, sending.route).seconds
        for _ in range(LATENCY_REQUESTS)
    )


def latency(
    comparison: Comparison, sample: Sample, sending: Sending, *, limit: float | None
) -> LatencyFigures:
    """The candidate's median scoring latency at most ``limit`` (``--aml-max-slowdown``) times the baseline's."""
    assert comparison.baseline is not None
    baseline_ms = 1000 * _median_seconds(comparison.baseline, sample, sending)
    candidate_ms = 1000 * _median_seconds(comparison.image, sample, sending)
    ratio = candidate_ms / max(baseline_ms, 1e-6)
    found = LatencyFigures(comparison.image.reference, baseline_ms, candidate_ms)
    with attached(found):
        if limit is not None and ratio > limit:
            raise CheckFailed(
                f"median scoring latency {candidate_ms:.1f} ms is {ratio:.2f}x the baseline's "
                f"{baseline_ms:.1f} ms (limit --aml-max-slowdown {limit:g})"
            )
    return found


def on_changes(
    policy: Callable[[list[Change], T, str], None], comparison: Comparison, allowed: T
) -> ChangeFigures:
    """A policy on what changed (removed, downgraded, major bumps), given what is allowed."""
    python = [change for change in comparison.changes if change.ecosystem == "pypi"]
    with attached(comparison.figures):  # the OS packages' changes are reported, not judged
        policy(python, allowed, comparison.against)
    return comparison.figures


class SnapshotPolicy(Protocol):
    """A rule on the two snapshots as wholes, each given by name (an old and a new one are never swapped)."""

    def __call__(self, *, old: dict[str, Any], new: dict[str, Any], against: str) -> None: ...


def on_snapshots(policy: SnapshotPolicy, comparison: Comparison) -> None:
    """A policy on the two snapshots as wholes (user, CUDA major)."""
    policy(old=comparison.old_snapshot, new=comparison.image.snapshot(), against=comparison.against)


def _allowed(change: Change, allowances: tuple[Expectation, ...]) -> bool:
    return any(
        a.name == change.name and change.new and a.satisfied_by(change.new) for a in allowances
    )


def _major(version: str | None) -> int | None:
    try:
        return Version(version).major if version else None
    except InvalidVersion:
        return None


def no_removed(changes: list[Change], allowed: tuple[str, ...], against: str) -> None:
    found = [c for c in changes if c.kind == "removed" and c.name not in allowed]
    if found:
        lines = "\n".join(f"  {c.name} {c.old}" for c in found)
        raise CheckFailed(
            f"removed since {against}:\n{lines}\nreinstall them, or allow: --aml-allow-removed NAME"
        )


def no_downgrade(changes: list[Change], allowances: tuple[Expectation, ...], against: str) -> None:
    found = [c for c in changes if c.kind == "downgraded" and not _allowed(c, allowances)]
    if found:
        lines = "\n".join(f"  {c.name} {c.old} -> {c.new}" for c in found)
        raise CheckFailed(
            f"downgraded since {against}:\n{lines}\npin them back, or allow: --aml-allow 'NAME==VERSION'"
        )


def no_major_bump(changes: list[Change], allowances: tuple[Expectation, ...], against: str) -> None:
    found = [
        c
        for c in changes
        if c.kind == "upgraded"
        and c.name in WATCHED
        and _major(c.new) != _major(c.old)
        and not _allowed(c, allowances)
    ]
    if found:
        lines = "\n".join(f"  {c.name} {c.old} -> {c.new}" for c in found)
        raise CheckFailed(
            f"major version bumps since {against}:\n{lines}\nallow one: --aml-allow 'NAME>=MAJOR'"
        )


def same_user(*, old: dict[str, Any], new: dict[str, Any], against: str) -> None:
    if old.get("user") != new.get("user"):
        raise CheckFailed(
            f"the image user changed since {against}: {old.get('user')} -> {new.get('user')}"
        )
    if "(uid 0)" in str(new.get("user")):
        raise CheckFailed(f"the image runs as root: {new.get('user')}")


def same_cuda_major(*, old: dict[str, Any], new: dict[str, Any], against: str) -> None:
    found = [
        f"{k} {old.get(k)} -> {new.get(k)}"
        for k in ("cuda", "cudnn")
        if _major(old.get(k)) != _major(new.get(k))
    ]
    if found:
        raise CheckFailed(f"CUDA/cuDNN major changed since {against}: " + "; ".join(found))


def server_breaking_changes(changes: list[Change]) -> list[str]:
    """The inference server's breaking changes crossed between the two versions (upgrading or going back)."""
    moved = next(
        (c for c in changes if c.name == server_changes.package() and c.old and c.new), None
    )
    if moved is None or moved.old is None or moved.new is None:
        return []
    return server_changes.between(moved.old, moved.new)


def throughput(
    candidate: dict[str, TypeCapacity],
    baseline: dict[str, TypeCapacity],
    *,
    against: str,
    limit: float | None,
) -> None:
    """The candidate's highest throughput on each type against the baseline's at the same type and
    WORKER_COUNT: at most ``limit`` (``--aml-max-slowdown``) times lower. A curated-image upgrade that changes
    numpy's BLAS or the framework's threading shows here first."""
    compared = []
    for name, measured in candidate.items():
        best, theirs = measured.best, baseline.get(name)
        if best is None or theirs is None:
            continue
        same = next((run for run in theirs.runs if run.workers == best.workers), None)
        mine, old = measured.claimed(best), theirs.claimed(same) if same else None
        if mine and old:
            compared.append((name, best.workers, mine, old))
    if not compared:
        raise NotApplicable("no instance type and WORKER_COUNT measured on both images")
    slower = [
        (name, workers, mine, old)
        for name, workers, mine, old in compared
        if old / mine > (limit or math.inf)
    ]
    if slower:
        raise CheckFailed(
            "\n".join(
                f"{name}, WORKER_COUNT={workers}: {mine:.1f} req/s, {old / mine:.2f}x slower than {against}'s "
                f"{old:.1f} req/s (limit --aml-max-slowdown {limit:g})"
                for name, workers, mine, old in slower
            )
        )
