"""Regression checks of an image against its baseline image or its lock file."""

from __future__ import annotations

import statistics
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from pytest_amlimage.checks import compare
from pytest_amlimage.checks.scoring import serving
from pytest_amlimage.config.settings import Settings
from pytest_amlimage.endpoint.samples import Sample, require_same
from pytest_amlimage.endpoint.scoring import post_sample
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.run.session import ImageRun

LATENCY_REQUESTS = 5


class Comparison:
    """One candidate against its reference: the baseline image's snapshot or the lock's."""

    def __init__(
        self, image: ImageRun, baseline: ImageRun | None, lock: dict[str, Any] | None, lock_path: Path | None
    ) -> None:
        self.image = image
        self.baseline = baseline
        self.lock = lock
        self.against = f"baseline {baseline.reference}" if baseline else f"lock {lock_path}"

    @cached_property
    def old_snapshot(self) -> dict[str, Any]:
        return self.baseline.snapshot if self.baseline else dict(self.lock or {})

    @cached_property
    def changes(self) -> list[compare.Change]:
        return compare.diff(self.old_snapshot, self.image.snapshot)

    def properties(self) -> list[tuple[str, object]]:
        found = {"against": self.against, "changes": compare.as_json(self.changes)}
        found["server_changes"] = compare.server_breaking_changes(self.changes)
        return [("amlimage_changes", {"image": self.image.reference, **found})]


def parity(comparison: Comparison, sample: Sample, settings: Settings) -> None:
    assert comparison.baseline is not None
    answers = []
    for image in (comparison.baseline, comparison.image):
        answer = post_sample(serving(image), sample.body, settings.score_timeout, settings.endpoint.scoring_route)
        if answer.status != 200:
            raise CheckFailed(f"{image.reference} answered {answer.status} to {sample.name}: {answer.body[:300]!r}")
        answers.append(answer.json())
    require_same(answers[1], answers[0], settings, f"{sample.name}: the response differs from {comparison.against}")


def _median_seconds(image: ImageRun, sample: Sample, settings: Settings) -> float:
    container, route = serving(image), settings.endpoint.scoring_route
    return statistics.median(
        post_sample(container, sample.body, settings.score_timeout, route).seconds for _ in range(LATENCY_REQUESTS)
    )


def latency(comparison: Comparison, sample: Sample, measured: dict[str, float], settings: Settings) -> None:
    assert comparison.baseline is not None
    measured["baseline_ms"] = 1000 * _median_seconds(comparison.baseline, sample, settings)
    measured["candidate_ms"] = 1000 * _median_seconds(comparison.image, sample, settings)
    limit = settings.max_slowdown
    ratio = measured["candidate_ms"] / max(measured["baseline_ms"], 1e-6)
    if limit is not None and ratio > limit:
        raise CheckFailed(
            f"median scoring latency {measured['candidate_ms']:.1f} ms is {ratio:.2f}x the baseline's "
            f"{measured['baseline_ms']:.1f} ms (limit --aml-max-slowdown {limit:g})"
        )


def latency_properties(image: ImageRun, measured: dict[str, float]) -> list[tuple[str, object]]:
    return [("amlimage_latency", {"image": image.reference, **measured})]


def write_lock(image: ImageRun, path: Path) -> None:
    compare.write_lock(path, image.snapshot)


def on_changes(policy: Callable[[list[compare.Change], Any, str], None], comparison: Comparison, allowed: Any) -> None:
    """A policy on what changed (removed, downgraded, major bumps), given what is allowed."""
    policy(comparison.changes, allowed, comparison.against)


def on_snapshots(policy: Callable[[dict[str, Any], dict[str, Any], str], None], comparison: Comparison) -> None:
    """A policy on the two snapshots as wholes (user, CUDA major)."""
    policy(comparison.old_snapshot, comparison.image.snapshot, comparison.against)
