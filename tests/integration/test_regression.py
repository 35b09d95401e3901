"""A candidate against its baseline image or lock file, and the reports."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from .conftest import EXAMPLE, expect

pytestmark = pytest.mark.engine
SAMPLES = str(EXAMPLE / "samples")
POLICIES = [
    "baseline[removed]",
    "baseline[downgrades]",
    "baseline[major]",
    "baseline[user]",
    "baseline[cuda]",
]


def test_every_difference_and_policy_outcome(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-image",
        images["extended-v2"],
        "--aml-baseline",
        images["extended"],
        "--aml-sample",
        SAMPLES,
        "--aml-report",
        "report.json",
        "--aml-report",
        "report.md",
        "-rA",
    )
    result.stdout.fnmatch_lines_random(
        [
            "FAILED *::baseline?removed?*",
            "FAILED *::baseline?downgrades?*",
            "FAILED *::baseline?major?*",
            "FAILED *::baseline?parity-two-rows?*",
            "PASSED *::baseline?user?",
            "PASSED *::baseline?cuda?",
            "PASSED *::baseline?latency?",
            f"{images['extended-v2']} against baseline {images['extended']}: 1 removed, 1 downgraded, 1 upgraded",
            "  removed    tzdata *-> -",
            "  downgraded click * 8.5.1 * -> 8.1.7",
            "  upgraded   numpy * 1.26.4 * -> 2.1.3",
            "$.predictions?0?: 4.2 != expected 4.1",
            f"{images['extended-v2']} median scoring latency: * ms (baseline * ms)",
        ]
    )
    report = json.loads((pytester.path / "report.json").read_text())["images"][
        images["extended-v2"]
    ]
    assert {(c["kind"], c["name"]) for c in report["changes"]["changes"]} == {
        ("removed", "tzdata"),
        ("downgraded", "click"),
        ("upgraded", "numpy"),
    }
    assert report["checks"]["baseline[major]"] == "failed"
    assert report["facts"]["aml_python"].startswith("3.")
    assert "| upgraded | numpy | 1.26.4 | 2.1.3 |" in (pytester.path / "report.md").read_text()


def test_allow_lists_accept_the_changes(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(
        "--aml-image",
        images["extended-v2"],
        "--aml-baseline",
        images["extended"],
        "--aml-allow",
        "numpy>=2",
        "--aml-allow",
        "click==8.1.*",
        "--aml-allow-removed",
        "tzdata",
        "-k",
        "baseline",
    )
    expect(result, passed=POLICIES)


def test_an_image_against_itself_has_no_changes(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(
        "--aml-image",
        images["extended"],
        "--aml-baseline",
        images["extended"],
        "--aml-sample",
        SAMPLES,
        "--aml-max-slowdown",
        "100",
        "-k",
        "baseline",
    )
    expect(
        result,
        passed=[
            *POLICIES,
            "baseline[parity-two-rows]",
            "baseline[latency]",
        ],
    )
    result.stdout.fnmatch_lines(
        [f"{images['extended']} against baseline {images['extended']}: no changes"]
    )


def test_lock_round_trip(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    lock = pytester.path / "aml-image.lock.json"
    update = (
        "--aml-image",
        images["extended"],
        "--aml-lock",
        str(lock),
        "--aml-lock-update",
        "-k",
        "lock",
    )
    expect(run_plugin(*update), passed=["lock-update"])
    first = lock.read_text()
    assert json.loads(first)["distributions"]["numpy"] == "1.26.4"
    run_plugin(*update)
    assert lock.read_text() == first  # stable: sorted, no timestamps
    same = run_plugin("--aml-image", images["extended"], "--aml-lock", str(lock), "-k", "baseline")
    expect(same, passed=POLICIES)
    same.stdout.no_fnmatch_line("accept these changes*")
    changed = run_plugin(
        "--aml-image", images["extended-v2"], "--aml-lock", str(lock), "-k", "baseline"
    )
    expect(
        changed,
        failed=POLICIES[:3],  # removed, downgrades, major
        passed=POLICIES[3:],
    )
    changed.stdout.fnmatch_lines(
        [
            "*against lock *aml-image.lock.json: 1 removed*",
            "accept these changes: re-run with --aml-lock-update, then commit the lock file",
        ]
    )


def test_bad_lock_file_is_a_usage_error(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makefile(".json", broken="[1, 2]")
    result = run_plugin("--aml-image", images["extended"], "--aml-lock", "broken.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: lock file *broken.json is not an environment lock: write it with --aml-lock-update"
        ]
    )


def test_rebase_builds_both_and_shows_the_diff_the_servers_breaking_changes_and_parity(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """The example Dockerfile on an old base (server 0.8, Python 3.9) rebased on a new one (server 1.5.1)."""
    report = pytester.path / "rebase.md"
    result = run_plugin(
        f"--aml-build={EXAMPLE}",
        "--aml-build-arg",
        f"BASE_IMAGE={images['minimal-py39']}",
        "--aml-rebase",
        images["minimal"],
        "--aml-any-base",
        f"--aml-sample={EXAMPLE / 'samples'}",
        f"--aml-report={report}",
        "--aml-label",
        "purpose=rebase-test",
        "-rA",
    )
    result.stdout.fnmatch_lines_random(
        [
            "PASSED *::baseline?parity-two-rows?",
            "*against baseline pytest-amlimage-build:latest-baseline: *",
            "*upgraded   azureml-inference-server-http    0.8.4.2          -> 1.5.1",
            "*changed    python                           3.9.* -> 3.11.*",
            "  the inference server's breaking changes on the way:",
            "    1.1.0: Pydantic 2: scoring code written for Pydantic 1 breaks",
        ]
    )
    markdown = report.read_text()
    assert "| upgraded | azureml-inference-server-http | 0.8.4.2 | 1.5.1 |" in markdown
    assert "- 1.4.1: the azureml.contrib.services package shim is gone" in markdown


def test_under_xdist_a_rebase_starts_one_container_per_image(
    run_plugin: Any, engine: Any, images: dict[str, str]
) -> None:
    """The baseline starts early only where the tests run: never in the xdist controller or an idle worker."""
    tag = "amlimage/xdist-rebase:test"
    since = int(time.time())
    try:
        result = run_plugin(
            f"--aml-build={EXAMPLE}",
            f"--aml-image={tag}",
            "--aml-build-arg",
            f"BASE_IMAGE={images['minimal']}",
            f"--aml-rebase={images['minimal']}",
            "--aml-any-base",
            "-n",
            "2",
            "-k",
            "non-root or baseline",
        )
        expect(
            result,
            passed=["non-root", *POLICIES],
        )
        events = engine.events(
            since=since, until=int(time.time()) + 1, decode=True, filters={"event": "create"}
        )
        started = sorted(
            e["Actor"]["Attributes"]["image"] for e in events if e.get("Type") == "container"
        )
        assert [image for image in started if image.startswith(tag)] == [tag, f"{tag}-baseline"]
    finally:
        for reference in (tag, f"{tag}-baseline"):
            engine.images.remove(reference)
