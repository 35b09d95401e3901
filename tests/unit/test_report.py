"""The run report: gathered from test reports, rendered for the terminal, JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_amlimage.checks.check import BaseFigures, ChangeFigures, LatencyFigures, Record
from pytest_amlimage.run.report import RunReport, base_line, base_warning

CHANGES = [
    {"kind": "upgraded", "name": "numpy", "old": "1.26.4", "new": "2.0.0"},
    {"kind": "removed", "name": "scipy", "old": "1.11.0", "new": None},
]


def report(nodeid: str, outcome: str, *figures: Record) -> pytest.TestReport:
    """A check's report as CheckItem makes it: every check carries the image's facts, some their figures."""
    facts = [("aml_image", "img:2"), ("aml_python", "3.11.2")]
    return pytest.TestReport(
        nodeid,
        ("img", 0, nodeid),
        {},
        outcome,
        None,
        "call",
        user_properties=[*facts, *(found.property() for found in figures)],
    )


def gathered() -> RunReport:
    run = RunReport()
    run.pytest_runtest_logreport(report("img:2::non-root", "passed"))
    changes = ChangeFigures("img:2", "baseline img:1", CHANGES, [])
    run.pytest_runtest_logreport(report("img:2::baseline[major]", "failed", changes))
    latency = LatencyFigures("img:2", baseline_ms=1.0, candidate_ms=2.0)
    run.pytest_runtest_logreport(report("img:2::baseline[latency]", "passed", latency))
    return run


def test_terminal_lines_sort_removals_first_and_show_latency() -> None:
    assert gathered().terminal_lines() == [
        "img:2 against baseline img:1: 1 removed, 1 upgraded",
        "  removed    scipy                            1.11.0           -> -",
        "  upgraded   numpy                            1.26.4           -> 2.0.0",
        "img:2 median scoring latency: 2.0 ms (baseline 1.0 ms)",
    ]


def test_reports_of_other_plugins_tests_are_ignored() -> None:
    run = RunReport()
    run.pytest_runtest_logreport(
        pytest.TestReport("t.py::x", ("t.py", 0, "x"), {}, "passed", None, "call")
    )
    assert run.as_json() == {"images": {}} and not run.has_changes()


def test_json_and_markdown_files(tmp_path: Path) -> None:
    run = gathered()
    run.write((tmp_path / "r.json", tmp_path / "r.md"))
    data = json.loads((tmp_path / "r.json").read_text())["images"]["img:2"]
    assert data["checks"] == {
        "baseline[latency]": "passed",
        "baseline[major]": "failed",
        "non-root": "passed",
    }
    assert (
        data["facts"]["aml_python"] == "3.11.2" and data["changes"]["against"] == "baseline img:1"
    )
    markdown = (tmp_path / "r.md").read_text()
    assert "## `img:2`\n\n3 checks, 1 failed\n- failed: `baseline[major]`" in markdown
    assert "| removed | scipy | 1.11.0 | - |\n| upgraded | numpy | 1.26.4 | 2.0.0 |" in markdown


def test_an_old_base_is_flagged_over_the_limit_and_a_month_before() -> None:
    def base(age: int, limit: int = 183) -> BaseFigures:
        return BaseFigures("mcr.microsoft.com/azureml/x:20260101.v1", "2026-01-01", age, limit)

    assert base_warning(base(100)) == ""
    assert base_warning(base(160)) == "reaches the 183-day limit in 23 days: plan the rebase"
    assert base_warning(base(200)).startswith("over the 183 days Azure ML supports")
    assert base_warning(base(900, limit=0)) == ""  # the check is off
    assert (
        base_line(base(10))
        == "base mcr.microsoft.com/azureml/x:20260101.v1 from 2026-01-01 (10 days old)"
    )
