import ast
import json
import subprocess
import sys

from pytest_amlimage import probe
from pytest_amlimage.container import ExecResult


def test_the_probe_script_parses_as_python_3_7() -> None:
    ast.parse(probe.script(), feature_version=(3, 7))


def test_the_script_joins_the_parts_without_their_imports_of_each_other() -> None:
    text = probe.script()
    assert "from ." not in text and text.count("from __future__") == 1
    assert text.index("def framed(") < text.index("def library_evidence(") < text.index("def main(")


def framed(payload: dict) -> str:
    return probe.BEGIN + json.dumps(payload) + probe.END


def test_banners_around_the_frame_are_ignored() -> None:
    payload = {
        "user": {"uid": 1000, "name": "dockeruser"},
        "python": {"version": "3.7.9"},
        "distributions": {"NumPy": {"name": "numpy", "version": "1.20.1", "requires": []}},
    }
    output = f"{probe.UID_MARK}1000\nWelcome {{not json}} {probe.END}\n{framed(payload)}\nbye\n"
    facts = probe.parse(ExecResult(0, output, "WARNING: noise"))
    assert facts.uid == 1000
    assert facts.python_version == "3.7.9"
    assert facts.version_of("numpy") == "1.20.1"


def test_no_python_is_a_reason_not_a_crash() -> None:
    facts = probe.parse(ExecResult(127, f"{probe.UID_MARK}1000\n{probe.NO_PYTHON}\n"))
    assert facts.uid == 1000
    assert facts.python_error == "no `python` or `python3` on the image's PATH"


def test_a_probe_that_dies_reports_its_stderr() -> None:
    facts = probe.parse(ExecResult(1, f"{probe.UID_MARK}0\n", "Traceback ...\nMemoryError"))
    assert facts.uid == 0
    assert facts.python_error is not None and "MemoryError" in facts.python_error


def test_the_script_runs_here_and_reports_this_interpreter() -> None:
    result = subprocess.run([sys.executable, "-c", probe.script()], capture_output=True, text=True, check=True)
    facts = probe.parse(ExecResult(0, result.stdout))
    assert facts.python_version == ".".join(map(str, sys.version_info[:3]))
    assert facts.version_of("pytest") is not None
    assert facts.markers["sys_platform"] == sys.platform
