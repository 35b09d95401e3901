"""A batch job as the platform runs one: our driver (``probe/inimage/batch_driver.py``) in the candidate's
container, with the Python first on its ``PATH``; its report read back, and its outputs copied to this machine.

Where things are inside: the driver at ``DRIVER_AT``, the input at ``INPUT_AT/<its name>``, the outputs under
``OUTPUT_AT`` (``AZUREML_BI_OUTPUT_PATH``) and each worker's log under ``LOGS_AT``.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Protocol, cast

from pytest_amlimage.config.deployment import BatchSettings
from pytest_amlimage.engine.container import ExecResult
from pytest_amlimage.probe.inimage.batch_driver import REPORT_BEGIN, REPORT_END
from pytest_amlimage.probe.shapes import (
    BatchConfigDoc,
    BatchEnvironmentDoc,
    BatchReportDoc,
    MiniBatchDoc,
    WorkerDoc,
)

DRIVER_AT = "/opt/amlimage-batch/driver.py"
INPUT_AT = "/mnt/batch/input"
RUN_AT = "/tmp/azureml-bi"  # the container's own /tmp, writable by any user
OUTPUT_AT = f"{RUN_AT}/output"
LOGS_AT = f"{RUN_AT}/logs"
OUTPUT_VARIABLE = "AZUREML_BI_OUTPUT_PATH"
# the Python first on PATH, as the platform's driver runs with the environment's
LAUNCH = (
    'for p in python python3; do command -v "$p" >/dev/null 2>&1 && exec "$p" "$@"; done; '
    'echo "no python or python3 on PATH" >&2; exit 127'
)


def driver_file() -> Path:
    """The driver as this machine holds it (mounted into the container read-only)."""
    return Path(str(resources.files("pytest_amlimage.probe.inimage").joinpath("batch_driver.py")))


def input_inside(batch_input: Path) -> str:
    return posixpath.join(INPUT_AT, batch_input.name)


class Runs(Protocol):
    def exec(self, command: list[str]) -> ExecResult: ...
    def copy_out(self, path: str, destination: Path) -> None: ...


@dataclass(frozen=True)
class Failure:
    """A failed init() or try of a mini-batch: the traceback, a SystemExit's code, and whether argparse raised it."""

    error: str | None = None
    exit: str | None = None
    argparse: bool = False
    log: str = ""

    @property
    def last_line(self) -> str:
        lines = [line for line in (self.error or "").strip().splitlines() if line.strip()]
        return lines[-1].strip() if lines else ""


@dataclass(frozen=True)
class Try(Failure):
    """One try of a mini-batch: what run() returned (its element count and rows), or why it did not."""

    count: int | None = None
    rows: tuple[str, ...] = ()
    timeout: float | None = None
    started: float = 0.0
    ended: float = 0.0
    # files under the output folder: changed while it ran, opened for writing, opened to truncate twice
    changed: tuple[str, ...] = ()
    audited: tuple[str, ...] = ()
    overwritten: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return self.error is not None or self.timeout is not None


@dataclass(frozen=True)
class MiniBatch:
    index: int
    files: tuple[str, ...]
    worker: int
    tries: tuple[Try, ...]

    @property
    def last(self) -> Try:
        return self.tries[-1]


@dataclass(frozen=True)
class Init(Failure):
    worker: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class BatchReport:
    """What the driver reported; ``error`` when it could not run at all."""

    settings: BatchSettings
    error: str | None = None
    environment: BatchEnvironmentDoc = field(default_factory=lambda: BatchEnvironmentDoc())
    files: tuple[str, ...] = ()
    nested: tuple[str, ...] = ()
    inits: tuple[Init, ...] = ()
    batches: tuple[MiniBatch, ...] = ()
    not_run: tuple[int, ...] = ()
    seconds: float = 0.0
    outputs: Path | None = None  # where the outputs came back to, on this machine
    oom_kills: int = 0  # the kernel's kills for want of memory in the container, as the job ended

    def scored(self) -> int:
        """Files scored: each mini-batch's files up to the elements its last try returned."""
        return sum(
            min(batch.last.count or 0, len(batch.files))
            for batch in self.batches
            if batch.tries and not batch.last.failed
        )

    def summary(self) -> str:
        """What the job did, in a line: files scored of the input's, and rows written (append_row)."""
        said = f"{self.scored()} of {len(self.files)} files scored"
        rows = self.output_rows() if self.settings.output_action == "append_row" else None
        if rows is not None:
            said += f", {len(rows)} rows in {self.settings.output_file_name}"
        return said

    def output_rows(self) -> list[str] | None:
        """The output file's rows, as they came back; None when it did not."""
        if self.outputs is None:
            return None
        path = self.outputs / "output" / self.settings.output_file_name
        return (
            path.read_text(encoding="utf-8", errors="replace").splitlines()
            if path.is_file()
            else None
        )


def configuration(
    settings: BatchSettings, batch_input: Path, script: str | None, mlflow_model: str | None
) -> BatchConfigDoc:
    """What the driver is told: the settings, the input and the script (or the MLflow model) inside."""
    return {
        "script": script,
        "mlflow_model": mlflow_model,
        "inputs": [input_inside(batch_input)],
        "mini_batch_size": settings.mini_batch_size,
        "workers": settings.max_concurrency_per_instance,
        "timeout": settings.timeout,
        "max_retries": settings.max_retries,
        "error_threshold": settings.error_threshold,
        "output_action": settings.output_action,
        "output_file_name": settings.output_file_name,
        "logging_level": settings.logging_level,
        "output": OUTPUT_AT,
        "logs": LOGS_AT,
    }


def run_batch(
    container: Runs, settings: BatchSettings, config: BatchConfigDoc, outputs: Path | None
) -> BatchReport:
    """Run the driver once in ``container``; copy its outputs and logs to ``outputs`` (when given)."""
    result = container.exec(["sh", "-c", LAUNCH, "amlimage-batch", DRIVER_AT, json.dumps(config)])
    report = parse(result, settings)
    if outputs is None:
        return report
    try:
        container.copy_out(RUN_AT, outputs)
    except Exception:  # nothing written (the driver never ran): nothing to copy
        return report
    return replace(report, outputs=outputs / posixpath.basename(RUN_AT))


def parse(result: ExecResult, settings: BatchSettings) -> BatchReport:
    """The driver's report, or why there is none (its last words)."""
    text = result.output
    if REPORT_BEGIN not in text or REPORT_END not in text:
        said = (result.stderr or text).strip().splitlines()
        last = said[-1] if said else f"exit code {result.exit_code}"
        return BatchReport(settings, error=f"the batch driver could not run: {last}")
    body = text.split(REPORT_BEGIN, 1)[1].split(REPORT_END, 1)[0]
    try:
        return _report(cast(BatchReportDoc, json.loads(body)), settings)
    except (
        ValueError,
        KeyError,
        TypeError,
    ) as error:  # a driver of another version: said, not raised
        return BatchReport(
            settings, error=f"the batch driver's report could not be read: {error!r}"
        )


def _report(found: BatchReportDoc, settings: BatchSettings) -> BatchReport:
    return BatchReport(
        settings,
        environment=found.get("environment", BatchEnvironmentDoc()),
        files=tuple(found.get("files", [])),
        nested=tuple(found.get("nested", [])),
        inits=tuple(sorted((_init(doc) for doc in found.get("inits", [])), key=lambda i: i.worker)),
        batches=tuple(
            sorted((_batch(doc) for doc in found.get("batches", [])), key=lambda b: b.index)
        ),
        not_run=tuple(found.get("not_run", [])),
        seconds=float(found.get("seconds", 0.0)),
    )


def _failure(doc: WorkerDoc) -> tuple[str | None, str | None, bool, str]:
    """``Failure``'s fields, in their order: the traceback, a SystemExit's code, argparse's, the log."""
    return doc.get("error"), doc.get("exit"), bool(doc.get("argparse")), str(doc.get("log") or "")


def _init(doc: WorkerDoc) -> Init:
    worker, seconds = int(doc.get("worker", 0)), float(doc.get("seconds", 0.0))
    return Init(*_failure(doc), worker=worker, seconds=seconds)


def _try(doc: WorkerDoc) -> Try:
    return Try(
        *_failure(doc),
        count=doc.get("count"),
        rows=tuple(doc.get("rows", [])),
        timeout=doc.get("timeout"),
        started=float(doc.get("started", 0.0)),
        ended=float(doc.get("ended", 0.0)),
        changed=tuple(doc.get("changed", [])),
        audited=tuple(doc.get("audited", [])),
        overwritten=tuple(doc.get("overwritten", [])),
    )


def _batch(doc: MiniBatchDoc) -> MiniBatch:
    tries = tuple(_try(one) for one in doc.get("tries", []) if one.get("event") == "run")
    return MiniBatch(int(doc["index"]), tuple(doc["files"]), int(doc.get("worker", 0)), tries)
