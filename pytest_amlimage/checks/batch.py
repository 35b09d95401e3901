"""A batch deployment's job, as our driver ran it in the image: the environment the platform's driver needs, every
worker's ``init()``, every mini-batch's ``run()``, and the output.

One cause, one failure: when the driver could not run, or no worker's ``init()`` did, ``batch-env`` or
``batch-init`` fails with it and the checks after it skip, naming it (``Unavailable``).
"""

from __future__ import annotations

import posixpath
import warnings

import pytest

from pytest_amlimage.config.deployment import BatchSettings
from pytest_amlimage.endpoint.batch import OUTPUT_AT, BatchReport, Failure, Init, MiniBatch, Try
from pytest_amlimage.errors import CheckFailed, NotApplicable, Unavailable
from pytest_amlimage.probe.shapes import BatchEnvironmentDoc

KNOWN_ARGUMENTS = "parse_known_args()"
LOG_LINES = 12  # of a worker's log, shown under a failure


def batch_env(report: BatchReport, *, own_environment: bool = True) -> None:
    """``import azureml.core``, ``python -m pip`` and azureml-dataset-runtime, as the platform's driver needs them
    while it starts (a failure there ends the job as exit code 42, with an almost empty log).

    ``own_environment``: the deployment's environment, not one the platform makes (an MLflow model's, with
    azureml-core added, whose inputs the platform reads itself): only there is the dataset runtime the user's.
    """
    _ran(report)
    env, problems = report.environment, []
    core = env.get("azureml_core")
    if core:
        problems.append(f"`import azureml.core` fails: {core}{_core_fix(core, env)}")
    if env.get("pip"):
        problems.append(
            f"`python -m pip` fails: {env['pip']}: the platform's driver runs it as it starts, so the job ends "
            "with an almost empty log: keep pip in the image"
        )
    if own_environment and not env.get("dataset_runtime"):
        problems.append(
            "azureml-dataset-runtime is not installed: the platform's driver needs it to read the inputs; add "
            "azureml-dataset-runtime[fuse] to the environment"
        )
    if problems:
        python = f"{env.get('python', 'python')} {env.get('version', '')}".strip()
        raise CheckFailed("\n".join(problems) + f"\n(the Python the driver ran with: {python})")


def _core_fix(error: str, env: BatchEnvironmentDoc) -> str:
    found = env.get("versions", {})
    if "pkg_resources" in error:
        core = " ".join(filter(None, ("azureml-core", found.get("azureml-core"))))
        setuptools = " ".join(filter(None, ("setuptools", found.get("setuptools"))))
        return (
            f": {core} imports pkg_resources, which {setuptools} no longer has (setuptools 82.0.0 removed "
            "it): upgrade to azureml-core 1.61.0.post2 or later, or pin setuptools<82"
        )
    if "No module named 'azureml" in error:
        return ": add azureml-core to the environment (the platform's batch driver imports it)"
    return ""


def batch_init(report: BatchReport) -> None:
    """``init()`` ran in every worker; else the first failure's traceback (and its log)."""
    _ran(report)
    failed = [init for init in report.inits if init.error and not _killed(report, init)]
    if not failed:
        _skip_killed(report, [init for init in report.inits if init.error])
        return
    first, workers = failed[0], len(report.inits)
    said = f"init() failed in {len(failed)} of {workers} worker(s): {_cause('init()', first)}"
    detail = _detail(first)
    if len(failed) == workers:  # nothing ran: the checks after this one skip, naming it
        raise Unavailable(f"{said}\n{detail}")
    raise CheckFailed(f"{said}\n{detail}")


def batch_run(report: BatchReport) -> None:
    """Every mini-batch returned within its timeout, one element per file; failed files against the threshold."""
    _scored(report)
    settings, failed = report.settings, 0
    problems: list[tuple[str, MiniBatch | None]] = []
    killed = [batch.last for batch in report.batches if _killed(report, batch.last)]
    for batch in report.batches:
        problem, files = _problem(batch, settings)
        if problem and not _killed(report, batch.last):
            problems.append((problem, batch))
            failed += files
    if report.not_run:
        count = sum(len(b.files) for b in report.batches)
        problems.append(
            (
                f"{len(report.not_run)} mini-batch(es) never ran: the workers that could run them failed init()",
                None,
            )
        )
        failed += len(report.files) - count
    if not problems:
        _skip_killed(report, killed)
        return
    outcome = _outcome(failed, len(report.files), settings)
    lines = [problems[0][0], outcome, *(problem for problem, _ in problems[1:])]
    first = problems[0][1]
    if first is not None and first.last.error:
        lines.append(_detail(first.last))
    if settings.error_threshold >= failed:
        warnings.warn(pytest.PytestWarning(f"batch-run: {lines[0]}; {outcome}"), stacklevel=1)
        return
    raise CheckFailed("\n".join(lines))


def _problem(batch: MiniBatch, settings: BatchSettings) -> tuple[str | None, int]:
    """What went wrong with one mini-batch's last try, and how many of its files failed."""
    last, named = batch.last, _named(batch.files)
    tries = f"{len(batch.tries)} tr{'y' if len(batch.tries) == 1 else 'ies'}"
    if last.timeout is not None:
        return (
            f"mini-batch {batch.index} ({named}) made no progress within retry_settings.timeout of "
            f"{last.timeout:g} s ({settings.where('timeout')}), {tries}: the platform logs 'No progress update "
            f"in {last.timeout:g} seconds' and fails it; raise retry_settings.timeout or make run() faster",
            len(batch.files),
        )
    if last.error:
        return f"mini-batch {batch.index} ({named}), {tries}: {_cause('run()', last)}", len(
            batch.files
        )
    count = last.count or 0
    if count < len(batch.files):
        unscored = _unscored(batch.files, last)
        return (
            f"run() returned {count} element(s) for the {len(batch.files)} files of mini-batch {batch.index}: "
            f"{unscored} left unscored; return one element per file (a list, an array or a DataFrame)",
            len(batch.files) - count,
        )
    return None, 0


def _unscored(files: tuple[str, ...], last: Try) -> str:
    """The files no returned row names (when the rows name files), else the mini-batch's, as the ones among."""
    names = [posixpath.basename(path) for path in files]
    missing = [name for name in names if not any(name in row for row in last.rows)]
    if missing and len(missing) == len(files) - (last.count or 0):
        return ", ".join(missing)
    return (
        f"{len(files) - (last.count or 0)} of {', '.join(names)} (the platform cannot tell which)"
    )


def _outcome(failed: int, total: int, settings: BatchSettings) -> str:
    threshold = settings.error_threshold
    if threshold == -1:
        return (
            f"{failed} of {total} files failed; the job still succeeds (error_threshold -1, "
            f"{settings.where('error_threshold')}, ignores failed files) and their results are missing"
        )
    verdict = "the job fails" if failed > threshold else "the job succeeds without them"
    return f"{failed} of {total} files failed against error_threshold {threshold}: {verdict}"


def batch_output(report: BatchReport) -> None:
    """append_row: the output file with one row per element returned; summary_only: each input's own files."""
    _scored(report)
    if report.outputs is None:
        raise CheckFailed("the job's outputs could not be copied out of the container")
    if report.settings.output_action == "append_row":
        _rows(report)
    else:
        _own_files(report)


def _rows(report: BatchReport) -> None:
    name, rows = report.settings.output_file_name, report.output_rows()
    if rows is None:
        raise CheckFailed(f"{name} was not written under {OUTPUT_AT}")
    returned = [b.last for b in report.batches if not b.last.failed]
    expected = sum(len(one.rows) for one in returned)
    elements = sum(one.count or 0 for one in returned)
    if len(rows) != expected or expected < elements:
        raise CheckFailed(
            f"{name} has {len(rows)} rows for the {elements} elements run() returned: an element that holds a "
            "line break spans rows; return one line of text per element"
        )


def _own_files(report: BatchReport) -> None:
    """summary_only: something written under the output folder, and no file written by two mini-batches."""
    writers: dict[str, list[MiniBatch]] = {}
    for batch in report.batches:
        for path in _written(batch, report):
            writers.setdefault(path, []).append(batch)
    if not writers:
        raise CheckFailed(
            f"nothing was written under AZUREML_BI_OUTPUT_PATH ({OUTPUT_AT}): with output_action summary_only "
            "the platform merges nothing, so the job's output is empty; write each input's results there, or "
            "use append_row"
        )
    shared = [
        f"{posixpath.basename(path)} was written by mini-batches "
        + " and ".join(f"{b.index} ({_named(b.files)})" for b in batches)
        for path, batches in sorted(writers.items())
        if len(batches) > 1
    ]
    shared += [
        f"{posixpath.basename(path)} was rewritten for each file of mini-batch {b.index} ({_named(b.files)})"
        for b in report.batches
        if len(b.files) > 1
        for path in b.last.overwritten
    ]
    if shared:
        raise CheckFailed(
            f"{shared[0]}: the later output replaced the earlier, so inputs' results are lost; name each "
            "output after its input (e.g. Path(file).stem), as every worker writes to the same folder"
            + "".join(f"\n{line}" for line in shared[1:])
        )


def _written(batch: MiniBatch, report: BatchReport) -> set[str]:
    """The files a mini-batch's last try wrote: those the interpreter saw it open for writing, and those that
    changed while it ran when no other mini-batch ran at the same time (otherwise whose they are is unknown)."""
    last = batch.last
    alone = not any(
        other is not batch and other.last.started < last.ended and last.started < other.last.ended
        for other in report.batches
    )
    return set(last.audited) | (set(last.changed) if alone else set())


def _killed(report: BatchReport, failure: Failure) -> bool:
    """A worker the kernel killed for want of memory (SIGKILL, with the container's kills counted): memory's
    cause to report, not this check's."""
    return report.oom_kills > 0 and "exit code -9" in (failure.error or "")


def _skip_killed(report: BatchReport, killed: list[Init] | list[Try]) -> None:
    if killed:
        raise NotApplicable(
            f"the kernel killed {len(killed)} worker(s) for want of memory: see memory"
        )


def _ran(report: BatchReport) -> None:
    if report.error:
        raise Unavailable(report.error)


def _scored(report: BatchReport) -> None:
    """The job ran some mini-batch; else the cause the check before this one named."""
    _ran(report)
    if report.inits and not any(init.error is None for init in report.inits):
        batch_init(report)
    if not report.files:
        raise Unavailable(
            f"the input held no files the driver reads (nested folders: {len(report.nested)})"
        )


def _cause(call: str, failure: Failure) -> str:
    if failure.exit is not None and failure.argparse:
        return (
            f"{call} exited (SystemExit {failure.exit}) in argparse: parse_args() exits on the platform "
            f"driver's own arguments (--logging_level, --output, ...); use {KNOWN_ARGUMENTS}"
        )
    if failure.exit is not None:
        return f"{call} exited (SystemExit {failure.exit})"
    return failure.last_line or f"{call} failed"


def _detail(failure: Failure) -> str:
    log = [line for line in failure.log.strip().splitlines() if line.strip()][-LOG_LINES:]
    said = (failure.error or "").rstrip()
    return said + ("\nthe worker's log:\n" + "\n".join(log) if log else "")


def _named(files: tuple[str, ...]) -> str:
    names = [posixpath.basename(path) for path in files]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
