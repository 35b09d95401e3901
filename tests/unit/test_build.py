"""A build the engine itself refuses (its disk full) is the build check's failure, named first, not a crash."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

from docker.errors import APIError

from pytest_amlimage.engine import build

FULL = "Error processing tar file(exit status 1): write /big.bin: no space left on device"


class RefusingEngine:
    """An engine answering the build request with an error (what a full disk gives), as the SDK raises it."""

    class api:  # the SDK's attribute name
        @staticmethod
        def build(**_: Any) -> Any:
            raise APIError("500 Server Error", explanation=FULL)


def test_a_full_engine_is_named_before_the_step(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM x:1\n")
    found = build.build(RefusingEngine(), tmp_path, "t:1", {}, None, print)  # type: ignore[arg-type]
    assert found is not None
    assert (
        found.splitlines()[0]
        == "the engine's disk is full (docker system prune frees it), so building t:1 failed at the start:"
    )
    assert FULL in found


def test_a_failed_step_is_named_as_before() -> None:
    found = build._failed(
        "t:1", "Step 2/2 : RUN false", "returned a non-zero code: 1", deque(["output"])
    )
    assert found.splitlines() == [
        "building t:1 failed at Step 2/2 : RUN false:",
        "returned a non-zero code: 1",
        "output",
    ]


def test_a_step_whose_command_ran_out_of_disk_names_the_full_disk() -> None:
    printed = deque(["dd: error writing '/fill': No space left on device"])
    found = build._failed("t:1", "Step 2/2 : RUN dd", "returned a non-zero code: 1", printed)
    assert found.startswith("the engine's disk is full (docker system prune frees it), so building")
