"""What a run found, gathered from test reports (so it works across xdist workers), as text, JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_amlimage.checks.check import CHANGES, ENDPOINT, FACT_PREFIX, IMAGE, LATENCY

KINDS = ("removed", "downgraded", "upgraded", "added", "changed")


SOON_DAYS = 30  # a base this close to the age limit is flagged before it fails


def base_warning(base: dict[str, Any]) -> str:
    """Why the base needs attention: over the age limit, or reaching it within SOON_DAYS; else empty."""
    age, limit = base["age_days"], base.get("limit_days") or 0
    if not limit or age <= limit - SOON_DAYS:
        return ""
    if age > limit:
        return f"over the {limit} days Azure ML supports: rebase it (--aml-rebase)"
    return f"reaches the {limit}-day limit in {limit - age} days: plan the rebase"


def base_line(base: dict[str, Any]) -> str:
    warning = base_warning(base)
    return f"base {base['reference']} from {base['date']} ({base['age_days']} days old)" + (
        f", {warning}" if warning else ""
    )


def memory_lines(image: str, memory: dict[str, Any]) -> list[str]:
    """The peak and its phase against the limit, and which instance types the deployment fits on."""
    if memory.get("peak_mib") is None:
        return []
    lines = [
        f"{image}: memory peak {memory['peak_mib']:g} MiB ({memory['phase']}) of "
        f"{memory['limit_mib']:g} MiB, {memory['sized_by']} (margin {memory['margin']:.0%})"
    ]
    lines += (
        [f"{image}: {memory['capped']}: CPU-bound timings here are slower than the endpoint's"]
        if memory.get("capped")
        else []
    )
    fits = ", ".join(memory["fits"]) or "none in the table"
    workers = memory["workers"]
    lines.append(
        f"{image}: {memory['per_worker_mib']:g} MiB per worker x {workers}: fits on {fits}; "
        f"up to {memory['max_workers']} worker(s) here"
    )
    return lines


def memory_chart(memory: dict[str, Any]) -> list[str]:
    """A Mermaid xychart of the memory by phase against the limit: it renders in a pull request comment."""
    phases = memory.get("phases") or []
    if not phases:
        return []
    names = ", ".join(f'"{phase}"' for phase, _ in phases)
    used = ", ".join(f"{value:g}" for _, value in phases)
    limit = ", ".join(f"{memory['limit_mib']:g}" for _ in phases)
    top = max(memory["limit_mib"], *(value for _, value in phases))
    return [
        "```mermaid",
        "xychart-beta",
        f'    title "Memory (MiB) by phase, against {memory["sized_by"]}"',
        f"    x-axis [{names}]",
        f'    y-axis "MiB" 0 --> {top * 1.1:.0f}',
        f"    bar [{used}]",
        f"    line [{limit}]",
        "```",
    ]


class RunReport:
    def __init__(self) -> None:
        self.checks: dict[str, dict[str, str]] = {}  # image -> check id -> outcome
        self.facts: dict[str, dict[str, Any]] = {}
        self.changes: dict[str, dict[str, Any]] = {}  # image -> {"against", "changes"}
        self.latency: dict[str, dict[str, Any]] = {}
        self.endpoint: dict[
            str, dict[str, Any]
        ] = {}  # image -> probe budget and concurrency figures

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record one of our check reports (the call phase, or a setup that failed); a pytest hook."""
        properties: dict[str, Any] = dict(report.user_properties)
        image = properties.get(IMAGE)
        if not isinstance(image, str) or (report.when != "call" and report.passed):
            return
        self.checks.setdefault(image, {})[report.nodeid.split("::", 1)[-1]] = report.outcome
        self.facts[image] = {k: v for k, v in properties.items() if k.startswith(FACT_PREFIX)}
        if CHANGES in properties:
            found = properties[CHANGES]
            self.changes[image] = {
                key: found.get(key) for key in ("against", "changes", "server_changes")
            }
        if LATENCY in properties:
            self.latency[image] = properties[LATENCY]
        if ENDPOINT in properties:
            self.endpoint.setdefault(image, {}).update(properties[ENDPOINT])

    def has_changes(self) -> bool:
        return any(found["changes"] for found in self.changes.values())

    def change_lines(self, image: str) -> list[str]:
        found = sorted(
            self.changes[image]["changes"], key=lambda c: (KINDS.index(c["kind"]), c["name"])
        )
        return [
            f"{c['kind']:<10} {c['name']:<32} {c['old'] or '-':<16} -> {c['new'] or '-'}"
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
            counts = {kind: sum(c["kind"] == kind for c in found["changes"]) for kind in KINDS}
            summary = ", ".join(f"{n} {kind}" for kind, n in counts.items() if n) or "no changes"
            lines += [
                f"{image} against {found['against']}: {summary}",
                *("  " + line for line in self.change_lines(image)),
                *self._server_lines(found.get("server_changes") or []),
            ]
        for image, measured in sorted(self.latency.items()):
            if "candidate_ms" in measured:
                lines.append(
                    f"{image} median scoring latency: {measured['candidate_ms']:.1f} ms "
                    f"(baseline {measured['baseline_ms']:.1f} ms)"
                )
        return lines

    def endpoint_lines(self) -> list[str]:
        """How each image fared against the endpoint: which Python serves, base age, probe margin, latency."""
        lines = [
            f"{image}: the server runs {facts['aml_python_executable']}, but `python` on PATH is "
            f"{facts['aml_python_on_path']}; every fact here is the server's interpreter's"
            for image, facts in sorted(self.facts.items())
            if facts.get(f"{FACT_PREFIX}python_on_path")
        ]
        for image, found in sorted(self.endpoint.items()):
            if "base" in found:
                lines.append(f"{image}: {base_line(found['base'])}")
            if "ready_s" in found:
                margin = found["budget_s"] - found["ready_s"]
                lines.append(
                    f"{image}: GET / answered after {found['ready_s']:.1f} s of a {found['budget_s']:g} s "
                    f"probe budget (margin {margin:.1f} s)"
                )
            if "memory" in found:
                lines += memory_lines(image, found["memory"])
            if "concurrency" in found:
                load = found["concurrency"]
                lines.append(
                    f"{image}: {load['requests']} requests at once: p50 {load['p50_ms']:.0f} ms, "
                    f"p95 {load['p95_ms']:.0f} ms"
                )
        return lines

    def as_json(self) -> dict[str, Any]:
        return {
            "images": {
                image: {
                    "checks": dict(sorted(self.checks.get(image, {}).items())),
                    "facts": self.facts.get(image, {}),
                    "changes": self.changes.get(image),
                    "latency": self.latency.get(image),
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
            memory = (data["endpoint"] or {}).get("memory")
            out += ["", *memory_lines(image, memory), "", *memory_chart(memory)] if memory else []
            base = (data["endpoint"] or {}).get("base")
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
                    f"| {c['kind']} | {c['name']} | {c['old'] or '-'} | {c['new'] or '-'} |"
                    for c in sorted(
                        data["changes"]["changes"],
                        key=lambda c: (KINDS.index(c["kind"]), c["name"]),
                    )
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
