"""Regression checks of an image against its baseline image or its lock file."""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from functools import cached_property, partial
from typing import Any

from . import compare
from .checks import Check
from .errors import CheckFailed
from .samples import Sample, differences
from .scoring import post_sample
from .scoring_checks import serving
from .session import ImageRun

LATENCY_REQUESTS = 5


class Comparison:
    """One candidate against its reference: the baseline image's snapshot or the lock's."""

    def __init__(self, image: ImageRun) -> None:
        self.image = image
        session = image.session
        self.baseline = session.baseline
        self.against = f"baseline {self.baseline.reference}" if self.baseline else f"lock {session.settings.lock}"

    @cached_property
    def old_snapshot(self) -> dict[str, Any]:
        return self.baseline.snapshot if self.baseline else dict(self.image.session.lock or {})

    @cached_property
    def changes(self) -> list[compare.Change]:
        return compare.diff(self.old_snapshot, self.image.snapshot)

    def properties(self) -> list[tuple[str, object]]:
        changes = compare.as_json(self.changes)
        return [("amlimage_changes", {"image": self.image.reference, "against": self.against, "changes": changes})]


def _parity(comparison: Comparison, sample: Sample) -> None:
    assert comparison.baseline is not None
    settings = comparison.image.session.settings
    answers = []
    for image in (comparison.baseline, comparison.image):
        answer = post_sample(serving(image), sample.body, settings.score_timeout)
        if answer.status != 200:
            raise CheckFailed(f"{image.reference} answered {answer.status} to {sample.name}: {answer.body[:300]!r}")
        answers.append(answer.json())
    found = differences(answers[1], answers[0], settings.rtol, settings.atol)
    if found:
        raise CheckFailed(f"{sample.name}: the response differs from {comparison.against}:\n" + "\n".join(found[:20]))


def _median_seconds(image: ImageRun, sample: Sample) -> float:
    container, timeout = serving(image), image.session.settings.score_timeout
    times = []
    for _ in range(LATENCY_REQUESTS):
        started = time.perf_counter()
        post_sample(container, sample.body, timeout)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _latency(comparison: Comparison, sample: Sample, measured: dict[str, float]) -> None:
    assert comparison.baseline is not None
    measured["baseline_ms"] = 1000 * _median_seconds(comparison.baseline, sample)
    measured["candidate_ms"] = 1000 * _median_seconds(comparison.image, sample)
    limit = comparison.image.session.settings.max_slowdown
    ratio = measured["candidate_ms"] / max(measured["baseline_ms"], 1e-6)
    if limit is not None and ratio > limit:
        raise CheckFailed(
            f"median scoring latency {measured['candidate_ms']:.1f} ms is {ratio:.2f}x the baseline's "
            f"{measured['baseline_ms']:.1f} ms (limit --aml-max-slowdown {limit:g})"
        )


def _write_lock(image: ImageRun) -> None:
    path = image.session.settings.lock
    assert path is not None
    compare.write_lock(path, image.snapshot)


def _policy_checks(comparison: Comparison) -> Iterator[Check]:
    """The environment policies: the same against a baseline image or a lock file."""
    settings, against = comparison.image.session.settings, comparison.against

    def changes_check(policy: Any, allowed: Any) -> Any:
        return lambda: policy(comparison.changes, allowed, against)

    def snapshot_check(policy: Any) -> Any:
        return lambda: policy(comparison.old_snapshot, comparison.image.snapshot, against)

    props = comparison.properties
    yield Check("baseline[removed]", changes_check(compare.no_removed, settings.allow_removed), props)
    yield Check("baseline[downgrades]", changes_check(compare.no_downgrade, settings.allow), props)
    yield Check("baseline[major]", changes_check(compare.no_major_bump, settings.allow), props)
    yield Check("baseline[user]", snapshot_check(compare.same_user))
    yield Check("baseline[cuda]", snapshot_check(compare.same_cuda_major))


def regression_checks(image: ImageRun) -> Iterator[Check]:
    session = image.session
    if session.settings.lock_update:
        yield Check("lock-update", partial(_write_lock, image))
        return
    if session.baseline is None and session.lock is None:
        return
    comparison = Comparison(image)
    yield from _policy_checks(comparison)
    if session.baseline is None:
        return
    for sample in session.samples:
        yield Check(f"baseline[parity-{sample.name}]", partial(_parity, comparison, sample))
    if session.samples:
        measured: dict[str, float] = {}
        yield Check(
            "baseline[latency]",
            partial(_latency, comparison, session.samples[0], measured),
            lambda: [("amlimage_latency", {"image": image.reference, **measured})],
        )
