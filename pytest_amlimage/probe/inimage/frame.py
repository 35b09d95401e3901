"""The frame around every JSON answer, child processes, and the frameworks' module names.

Runs inside the image under test (first part of the probe script) and is imported by the
host side too, so the markers and names are defined here only. Standard library only;
Python 3.7+ (the hints are never evaluated: the joined script postpones annotations).
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

BEGIN = "@@AMLIMAGE-PROBE-BEGIN@@"
END = "@@AMLIMAGE-PROBE-END@@"
CHILD_TIMEOUT = 120
# distribution name -> the module it is imported as
FRAMEWORK_MODULES = {
    "torch": "torch",
    "tensorflow": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "tensorflow-gpu": "tensorflow",
    "scikit-learn": "sklearn",
    "onnxruntime": "onnxruntime",
    "onnxruntime-gpu": "onnxruntime",
    "xgboost": "xgboost",
}


def frame(payload: Any) -> str:
    return BEGIN + json.dumps(payload, default=str) + END


def framed(text: str) -> Any:
    """The last framed JSON document in ``text``; None when there is none."""
    start = text.rfind(BEGIN)
    end = text.rfind(END)
    if start < 0 or end < start:
        return None
    return json.loads(text[start + len(BEGIN) : end])


def spawn(snippet: str, *args: str, python: str = "") -> subprocess.Popen[str]:
    """``snippet`` in a child process (of this interpreter, or ``python``): a crash there cannot take the probe down.

    The snippet's own answer is framed with the markers passed as its first two arguments.
    """
    return subprocess.Popen(
        [python or sys.executable, "-c", snippet, BEGIN, END, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )


def collect(child: subprocess.Popen[str]) -> tuple[Any, str]:
    """(framed answer or None, stderr tail); a child past the timeout is killed."""
    answers, detail = collect_all(child)
    return (answers[-1] if answers else None), detail


def collect_all(child: subprocess.Popen[str]) -> tuple[list[Any], str]:
    """(every framed answer, in order; stderr tail); a child past the timeout is killed."""
    try:
        out, err = child.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        return [], f"did not finish within {CHILD_TIMEOUT} s"
    answers = [json.loads(part.split(END, 1)[0]) for part in out.split(BEGIN)[1:] if END in part]
    return answers, f"exit {child.returncode}: {(err or '').strip()[-2000:]}"
