"""What a run found, gathered from test reports (so it works across xdist workers), as text, JSON and Markdown."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from pytest_amlimage.checks.check import (
    CAPACITY,
    CHANGES,
    ENDPOINT,
    FACT_PREFIX,
    IMAGE,
    LATENCY,
    BaseFigures,
    CapacityFigures,
    ChangeFigures,
    ConcurrencyFigures,
    LatencyFigures,
    MemoryFigures,
    ProbeFigures,
)
from pytest_amlimage.config.instance_types import MIB

KINDS = ("removed", "downgraded", "upgraded", "added", "changed")


SOON_DAYS = 30  # a base this close to the age limit is flagged before it fails


def base_warning(base: BaseFigures) -> str:
    """Why the base needs attention: over the age limit, or reaching it within SOON_DAYS; else empty."""
    age, limit = base.age_days, base.limit_days
    if not limit or age <= limit - SOON_DAYS:
        return ""
    if age > limit:
        return f"over the {limit} days Azure ML supports: rebase it (--aml-rebase)"
    return f"reaches the {limit}-day limit in {limit - age} days: plan the rebase"


def base_line(base: BaseFigures) -> str:
    warning = base_warning(base)
    return f"base {base.reference} from {base.date} ({base.age_days} days old)" + (
        f", {warning}" if warning else ""
    )


def memory_lines(image: str, memory: MemoryFigures) -> list[str]:
    """The peak and its phase against the limit, and which instance types the deployment fits on."""
    if memory.peak_mib is None or memory.margin is None:
        return []
    sampled = "" if memory.exact else "; sampled from the engine's stats, so it may be low"
    lines = [
        f"{image}: memory peak {memory.peak_mib:g} MiB ({memory.phase}) of "
        f"{memory.limit_mib:g} MiB, {memory.sized_by} (margin {memory.margin:.0%}{sampled})"
    ]
    if memory.capped:
        lines.append(
            f"{image}: {memory.capped}: CPU-bound timings here are slower than the endpoint's"
        )
    fits = ", ".join(memory.fits) or "none in the table"
    lines.append(
        f"{image}: {memory.per_worker_mib:g} MiB per worker x {memory.workers}: fits on {fits}; "
        f"up to {memory.max_workers} worker(s) here"
    )
    if memory.allowed:
        width = max(len(name) for name, _, _ in memory.allowed)
        lines.append(f"{image}: the template's allowed instance types against the peak:")
        lines += [
            f"{image}:   {name:<{width}}  {mib:>9g} MiB  {'fits' if fits else 'too small'}"
            for name, mib, fits in memory.allowed
        ]
    return lines


def memory_chart(memory: MemoryFigures) -> list[str]:
    """A Mermaid xychart of the memory by phase against the limit: it renders in a pull request comment."""
    phases = memory.phases
    if not phases:
        return []
    names = ", ".join(f'"{phase}"' for phase, _ in phases)
    used = ", ".join(f"{value:g}" for _, value in phases)
    limit = ", ".join(f"{memory.limit_mib:g}" for _ in phases)
    top = max(memory.limit_mib, *(value for _, value in phases))
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "Memory (MiB) by phase, against {memory.sized_by}"',
        f"    x-axis [{names}]",
        f'    y-axis "MiB" 0 --> {top * 1.1:.0f}',
        f"    bar [{used}]",
        f"    line [{limit}]",
        # one line a template's allowed instance type: the peak's bar against each
        *(f"    line [{', '.join(f'{mib:g}' for _ in phases)}]" for _, mib, _ in memory.allowed),
        "```",
    ]


def capacity_lines(found: CapacityFigures) -> list[str]:
    """A table per instance type: each WORKER_COUNT's highest throughput within the bound, its latency, errors,
    CPU and memory; then the recommendation."""
    lines = [f"{found.image}: capacity within p95 {found.bound_ms:g} ms ({found.bound})"]
    took = {run["instance_type"]: run for run in found.types}
    for name in dict.fromkeys(row["instance_type"] for row in found.rows):
        run = took.get(name, {})
        lines += [
            f"  {name}: {run.get('seconds', 0):g} s, stopped: {run.get('stopped', '?')}",
            "    workers  max req/s  p50 ms  p95 ms  p99 ms  errors  CPU %  peak MiB",
        ]
        mine = [row for row in found.rows if row["instance_type"] == name]
        lines += ["    " + _capacity_row(row) for row in mine]
        rule = mine[0]["estimate_rule"]
        lines += [f"    * estimated: {rule}"] if rule else []
        if any(row.get("cut") for row in mine):
            lines.append("    (cut): the budget ended the steps; raise --aml-capacity-budget")
    pick = found.recommendation
    if pick is not None:
        target = f"{found.target_rps:g} req/s" if found.target_rps else "the most req/s a vCPU"
        lines.append(
            f"  recommended for {target}: {pick['instance_type']} x {pick['instance_count']}, "
            f"WORKER_COUNT={pick['worker_count']}, max_concurrent_requests_per_instance="
            f"{pick['max_concurrent_requests_per_instance']} ({pick['core_hours_per_million']:g} core-hours "
            f"a million requests{', estimated' if pick['estimated'] else ''})"
        )
    return lines


def _capacity_row(row: dict[str, Any]) -> str:
    def shown(value: Any, spec: str) -> str:
        return "-" if value is None else format(value, spec)

    rps = shown(row["max_rps"], ".1f") + ("*" if row["estimated"] else "")
    if row["generator_bound"]:
        rps = "generator"  # the load generator was the limit: not claimed
    elif row.get("cut"):
        rps += " (cut)"  # the budget ended its steps: a lower bound
    errors = sum(row["errors"].values()) if row["errors"] else 0
    peak = None if row["peak_memory_bytes"] is None else row["peak_memory_bytes"] / MIB
    return (
        f"{row['worker_count']:>7}  {rps:>9}  {shown(row['p50_ms'], '.0f'):>6}  "
        f"{shown(row['p95_ms'], '.0f'):>6}  {shown(row['p99_ms'], '.0f'):>6}  {errors:>6}  "
        f"{shown(row['cpu_percent'], '.0f'):>5}  {shown(peak, '.0f'):>8}"
    )


def capacity_chart(found: CapacityFigures) -> list[str]:
    """p95 against throughput, a point each worker count and concurrency step (W2 c4: WORKER_COUNT 2, 4 at
    once), on a Mermaid quadrant chart: it renders in a pull request comment."""
    steps = [step for step in found.steps if step["rps"] > 0]
    if not steps:
        return []
    top_rps = max(step["rps"] for step in steps) * 1.1
    top_ms = max(step["p95_ms"] for step in steps) * 1.2
    points = [
        f"    {step['instance_type'].removeprefix('Standard_')} W{step['worker_count']} "
        f"c{step['concurrency']}: [{step['rps'] / top_rps:.3f}, {step['p95_ms'] / top_ms:.3f}]"
        for step in steps
    ]
    return [
        "```mermaid",
        "quadrantChart",
        f"    title p95 against throughput: W workers, c at once; bound {found.bound_ms:g} ms",
        f"    x-axis 0 req/s --> {top_rps:.0f} req/s",
        f"    y-axis 0 ms --> {top_ms:.0f} ms",
        *points,
        "```",
    ]


class RunReport:
    def __init__(self) -> None:
        self.checks: dict[str, dict[str, str]] = {}  # image -> check id -> outcome
        self.facts: dict[str, dict[str, Any]] = {}
        self.changes: dict[str, ChangeFigures] = {}
        self.latency: dict[str, LatencyFigures] = {}
        self.capacity: dict[str, CapacityFigures] = {}
        # image -> figure key -> the figures as JSON (read back as records where shown)
        self.endpoint: dict[str, dict[str, Any]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record one of our check reports (the call phase, or a setup that failed); a pytest hook."""
        properties: dict[str, Any] = dict(report.user_properties)
        image = properties.get(IMAGE)
        if not isinstance(image, str) or (report.when != "call" and report.passed):
            return
        self.checks.setdefault(image, {})[report.nodeid.split("::", 1)[-1]] = report.outcome
        self.facts[image] = {k: v for k, v in properties.items() if k.startswith(FACT_PREFIX)}
        changes = ChangeFigures.read(properties.get(CHANGES))
        if changes is not None:
            self.changes[image] = changes
        latency = LatencyFigures.read(properties.get(LATENCY))
        if latency is not None:
            self.latency[image] = latency
        capacity = CapacityFigures.read(properties.get(CAPACITY))
        if capacity is not None:
            self.capacity[image] = capacity
        if ENDPOINT in properties:
            self.endpoint.setdefault(image, {}).update(properties[ENDPOINT])

    def has_changes(self) -> bool:
        return any(found.changes for found in self.changes.values())

    def change_lines(self, image: str) -> list[str]:
        found = sorted(self.changes[image].changes, key=_change_order)
        return [
            f"{c['kind']:<10} {c.get('shown', c['name']):<32} {c['old'] or '-':<16} -> {c['new'] or '-'}"
            for c in found
        ]

    @staticmethod
    def _server_lines(server_changes: list[str]) -> list[str]:
        if not server_changes:
            return []
        return [
            "  the inference server's breaking changes on the way:",
            *(f"    {line}" for line in server_changes),
        ]

    def terminal_lines(self) -> list[str]:
        lines = []
        for image, found in sorted(self.changes.items()):
            counts = {kind: sum(c["kind"] == kind for c in found.changes) for kind in KINDS}
            summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no changes"
            lines += [
                f"{image} against {found.against}: {summary}",
                *("  " + line for line in self.change_lines(image)),
                *self._server_lines(found.server_changes),
            ]
        for image, measured in sorted(self.latency.items()):
            lines.append(
                f"{image} median scoring latency: {measured.candidate_ms:.1f} ms "
                f"(baseline {measured.baseline_ms:.1f} ms)"
            )
        return lines

    def capacity_lines(self) -> list[str]:
        """The capacity run's tables, an image after another."""
        return [
            line for image in sorted(self.capacity) for line in capacity_lines(self.capacity[image])
        ]

    def endpoint_lines(self) -> list[str]:
        """How each image fared against the endpoint: which Python serves, base age, probe margin, latency."""
        lines = [
            f"{image}: the server runs {facts['aml_python_executable']}, but `python` on PATH is "
            f"{facts['aml_python_on_path']}; every fact here is the server's interpreter's"
            for image, facts in sorted(self.facts.items())
            if facts.get(f"{FACT_PREFIX}python_on_path")
        ]
        for image, found in sorted(self.endpoint.items()):
            lines += self._figure_lines(image, found)
        return lines

    @staticmethod
    def _figure_lines(image: str, found: dict[str, Any]) -> list[str]:
        lines = []
        base, probe = BaseFigures.read(found.get("base")), ProbeFigures.read(found.get("probe"))
        memory, load = (
            MemoryFigures.read(found.get("memory")),
            ConcurrencyFigures.read(found.get("concurrency")),
        )
        if base is not None:
            lines.append(f"{image}: {base_line(base)}")
        if probe is not None:
            lines.append(
                f"{image}: GET / answered after {probe.ready_s:.1f} s of a {probe.budget_s:g} s "
                f"probe budget (margin {probe.budget_s - probe.ready_s:.1f} s)"
            )
        lines += memory_lines(image, memory) if memory is not None else []
        if load is not None:
            lines.append(
                f"{image}: {load.requests} requests at once: p50 {load.p50_ms:.0f} ms, "
                f"p95 {load.p95_ms:.0f} ms"
            )
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "images": {
                image: {
                    "checks": dict(sorted(self.checks.get(image, {}).items())),
                    "facts": self.facts.get(image, {}),
                    "changes": _json(self.changes.get(image)),
                    "latency": _json(self.latency.get(image)),
                    "capacity": _capacity_json(self.capacity.get(image)),
                    "endpoint": self.endpoint.get(image),
                }
                for image in sorted(self.checks)
            }
        }

    def as_markdown(self) -> str:
        out = ["# pytest-amlimage report", ""]
        for image, data in self.as_json()["images"].items():
            failed = [check for check, outcome in data["checks"].items() if outcome == "failed"]
            out += [f"## `{image}`", "", f"{len(data['checks'])} checks, {len(failed)} failed"]
            out += [f"- failed: `{check}`" for check in failed]
            found = self.capacity.get(image)
            out += (
                ["", "```", *capacity_lines(found), "```", "", *capacity_chart(found)]
                if found
                else []
            )
            memory = MemoryFigures.read((data["endpoint"] or {}).get("memory"))
            out += ["", *memory_lines(image, memory), "", *memory_chart(memory)] if memory else []
            base = BaseFigures.read((data["endpoint"] or {}).get("base"))
            out += (
                ["", f"{'**Warning:** ' if base_warning(base) else ''}{base_line(base)}"]
                if base
                else []
            )
            if data["changes"] is not None:
                out += [
                    "",
                    f"Changes against {data['changes']['against']}:",
                    "",
                    "| change | package | old | new |",
                    "|---|---|---|---|",
                ]
                out += [
                    f"| {c['kind']} | {c.get('shown', c['name'])} | {c['old'] or '-'} | {c['new'] or '-'} |"
                    for c in sorted(data["changes"]["changes"], key=_change_order)
                ]
                server = data["changes"].get("server_changes") or []
                out += (
                    ["", "The inference server's breaking changes on the way:", ""]
                    if server
                    else []
                )
                out += [f"- {line}" for line in server]
            out.append("")
        return "\n".join(out)

    def write(self, paths: tuple[Path, ...]) -> None:
        for path in paths:
            text = (
                self.as_markdown()
                if path.suffix == ".md"
                else json.dumps(self.as_json(), indent=2, sort_keys=True)
            )
            path.write_text(text + "\n", encoding="utf-8")


def _capacity_json(found: CapacityFigures | None) -> dict[str, Any] | None:
    """The JSON report's ``capacity`` section (its names are the interface: docs/reference.md)."""
    if found is None:
        return None
    return {key: value for key, value in dataclasses.asdict(found).items() if key != "image"}


def _json(found: ChangeFigures | LatencyFigures | None) -> dict[str, Any] | None:
    return None if found is None else dataclasses.asdict(found)


def _change_order(change: dict[str, Any]) -> tuple[int, str]:
    """Changes as the report lists them: by kind (``KINDS``' order), then by name."""
    return KINDS.index(change["kind"]), str(change["name"])
