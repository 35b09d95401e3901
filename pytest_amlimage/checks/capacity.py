"""How much the image serves, judged: the capacity run's figures, a recommendation for a target load, and what
the deployment's own settings would do to it.

The platform's front end, not the server, answers 408 past ``request_timeout_ms`` and 429 once more than
``2 x max_concurrent_requests_per_instance x instance_count`` requests are in flight (how-to-troubleshoot-online-
endpoints). By Little's law, requests in flight per instance are its throughput times the mean latency.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import pytest

from pytest_amlimage.checks.check import CapacityFigures, attached
from pytest_amlimage.endpoint.capacity import TypeCapacity, WorkerRun
from pytest_amlimage.endpoint.load import Step
from pytest_amlimage.errors import CheckFailed, NotApplicable

MILLION = 1_000_000


@dataclass(frozen=True)
class Deployed:
    """What a deployment YAML sets that bears on capacity (None: no YAML, nothing to throttle by)."""

    instance_type: str | None
    workers: int  # WORKER_COUNT
    max_concurrent: int  # max_concurrent_requests_per_instance
    instance_count: int
    where: str  # the YAML's line of max_concurrent_requests_per_instance, or the default's words


@dataclass(frozen=True)
class Bound:
    ms: float
    source: str  # --aml-latency-p95, or request_timeout_ms from the deployment


def rows(
    found: dict[str, TypeCapacity],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The JSON rows (a type and worker count each) and the steps behind them."""
    table, steps = [], []
    for name, measured in found.items():
        for run in measured.runs:
            best = run.best
            table.append(
                {
                    "instance_type": name,
                    "worker_count": run.workers,
                    "max_rps": _round(measured.claimed(run)),
                    "p50_ms": _round(best.percentile(0.50) if best else None),
                    "p95_ms": _round(best.percentile(0.95) if best else None),
                    "p99_ms": _round(best.percentile(0.99) if best else None),
                    "errors": _errors(run),
                    "cpu_percent": run.cpu_percent,
                    "peak_memory_bytes": run.peak_memory_bytes,
                    "estimated": bool(measured.estimate) and run.max_rps is not None,
                    "estimate_rule": measured.estimate,
                    "generator_bound": run.generator_bound,
                    "cut": run.cut,
                    "error": run.error,
                }
            )
            steps += [
                {
                    "instance_type": name,
                    "worker_count": run.workers,
                    "concurrency": step.concurrency,
                    "rps": round(step.rps, 2),
                    "p95_ms": round(step.percentile(0.95), 1),
                }
                for step in run.steps
            ]
    return table, steps


def in_flight(load: float, at: Step) -> float:
    """Requests in flight per instance at ``load`` req/s, each taking the step's mean latency (Little's law)."""
    return load * at.mean_ms / 1000


def letting_in(requests: float) -> int:
    """The max_concurrent_requests_per_instance that lets ``requests`` in flight in: the platform lets twice the
    setting in."""
    return max(1, math.ceil(requests / 2))


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _errors(run: WorkerRun) -> dict[str, int]:
    """Errors by kind over every step of the run."""
    found: dict[str, int] = {}
    for step in run.steps:
        for kind, count in step.errors.items():
            found[kind] = found.get(kind, 0) + count
    return found


def for_type(found: TypeCapacity, target: float | None) -> dict[str, Any] | None:
    """The type's recommendation: its best WORKER_COUNT, the instances a target needs, and the
    max_concurrent_requests_per_instance that lets the load in (in flight per instance, halved: the platform lets
    twice the setting in)."""
    best = found.best
    rps = found.claimed(best) if best is not None else None
    if best is None or best.best is None or not rps:
        return None
    count = max(1, math.ceil(target / rps)) if target else 1  # instances: a ceiling, at least 1
    load = target / count if target else rps
    requests = in_flight(load, best.best)
    vcpus = found.instance.vcpus
    return {
        "instance_type": found.instance.name,
        "worker_count": best.workers,
        "instance_count": count,
        "max_concurrent_requests_per_instance": letting_in(requests),
        "max_rps": round(rps, 2),
        "vcpus_total": vcpus * count,
        "core_hours_per_million": round(vcpus * MILLION / (rps * 3600), 3),
        "in_flight": round(requests, 2),
        "estimated": bool(found.estimate),
    }


def recommend(per_type: list[dict[str, Any]], target: float | None) -> dict[str, Any] | None:
    """With a target: the type that meets it with the fewest vCPUs in all (then the lower cost); without one,
    the highest throughput a vCPU."""
    if not per_type:
        return None
    if target:
        return min(per_type, key=lambda r: (r["vcpus_total"], r["core_hours_per_million"]))
    return max(per_type, key=lambda r: r["max_rps"] / max(r["vcpus_total"], 1e-9))


def capacity(
    image: str,
    found: dict[str, TypeCapacity],
    bound: Bound,
    target: float | None,
    deployed: Deployed | None,
) -> CapacityFigures:
    """The figures, a recommendation, and a failure where no type in scope serves within the bound (for the
    target, or one request at a time), or where the deployment's own settings would throttle what it serves."""
    if not found:
        raise NotApplicable("no instance type was measured")
    table, steps = rows(found)
    per_type = [r for r in (for_type(measured, target) for measured in found.values()) if r]
    runs = [
        {
            "instance_type": name,
            "seconds": round(measured.seconds, 1),
            "stopped": measured.stopped,
            "cores": measured.cores,
            "estimate": measured.estimate,
        }
        for name, measured in found.items()
    ]
    pick = recommend(per_type, target)
    figures = CapacityFigures(
        image, bound.ms, bound.source, target, table, steps, per_type, pick, runs
    )
    with attached(figures):
        problems = _unserved(found, bound, target, per_type)
        if not problems and deployed is not None:
            problems = _throttled(found, target, deployed)
        if problems:
            raise CheckFailed("\n".join(problems))
    if deployed is not None:
        _unused_workers(found, deployed)
    return figures


def _unserved(
    found: dict[str, TypeCapacity],
    bound: Bound,
    target: float | None,
    per_type: list[dict[str, Any]],
) -> list[str]:
    if per_type:
        return []
    if all(run.generator_bound for measured in found.values() for run in measured.runs):
        raise NotApplicable(
            "this machine's load generator was the limit at every step (no CPU to spare while the container "
            "stayed under its limit): no figure is claimed; run on a machine with more cores"
        )
    first = [
        step.percentile(0.95)
        for measured in found.values()
        for run in measured.runs[:1]
        for step in run.steps[:1]
    ]
    said = f"p95 {min(first):.0f} ms" if first else "no answer"
    if target:
        return [
            f"no instance type in scope ({', '.join(found)}) serves {target:g} req/s within p95 {bound.ms:g} ms "
            f"({bound.source}): one request at a time gave {said}"
        ]
    return [
        f"one request at a time already exceeds the latency bound: {said}, over p95 {bound.ms:g} ms "
        f"({bound.source}), on {', '.join(found)}: make run() faster, or raise the bound"
    ]


def _throttled(
    found: dict[str, TypeCapacity], target: float | None, deployed: Deployed
) -> list[str]:
    """The 429s the deployment's max_concurrent_requests_per_instance would cause at the load it serves."""
    measured = found.get(deployed.instance_type or "")
    best = measured.best if measured is not None else None
    if measured is None or best is None or best.best is None:
        return []
    rps = measured.claimed(best) or 0.0
    load = min(target / max(deployed.instance_count, 1), rps) if target else rps
    requests, allowed = in_flight(load, best.best), 2 * deployed.max_concurrent
    if requests <= allowed:
        return []
    return [
        f"max_concurrent_requests_per_instance {deployed.max_concurrent} ({deployed.where}) lets {allowed} "
        f"requests in flight per instance, but at {load:.1f} req/s and {best.best.mean_ms:.0f} ms each "
        f"{requests:.1f} are (Little's law): the platform would answer 429 'Too many pending requests'; set "
        f"max_concurrent_requests_per_instance to {letting_in(requests)}"
    ]


def _unused_workers(found: dict[str, TypeCapacity], deployed: Deployed) -> None:
    """A warning where the deployment's WORKER_COUNT leaves measured throughput unused on its type."""
    measured = found.get(deployed.instance_type or "")
    if measured is None or measured.best is None:
        return
    best = measured.best
    at = next((run for run in measured.runs if run.workers == deployed.workers), None)
    now, could = (measured.claimed(at) or 0.0) if at else 0.0, measured.claimed(best) or 0.0
    if best.workers != deployed.workers and could > now * 1.1:
        warnings.warn(
            pytest.PytestWarning(
                f"capacity: WORKER_COUNT={deployed.workers} serves {now:.1f} req/s on "
                f"{measured.instance.name}; WORKER_COUNT={best.workers} served {could:.1f}"
            ),
            stacklevel=1,
        )
