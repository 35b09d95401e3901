"""The batch checks on reports as the driver writes them: each failure's first line names the cause, the
consequence is the platform's, a red run is never one the report contradicts, and one cause fails once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pytest_amlimage.checks import batch
from pytest_amlimage.config.deployment import BatchSettings
from pytest_amlimage.endpoint.batch import BatchReport, Init, MiniBatch, Try
from pytest_amlimage.errors import CheckFailed, NotApplicable, Unavailable

FILES = tuple(f"/mnt/batch/input/data/f{i}.csv" for i in range(4))
DEFAULTS = BatchSettings()
ENV = {"azureml_core": None, "pip": None, "dataset_runtime": "1.61.0", "python": "/env/bin/python"}


def scored(
    rows: tuple[str, ...], *, started: float = 0.0, ended: float = 1.0, **more: object
) -> Try:
    return replace(Try(count=len(rows), rows=rows, started=started, ended=ended), **more)  # type: ignore[arg-type]


def report(*batches: MiniBatch, settings: BatchSettings = DEFAULTS, **more: object) -> BatchReport:
    found = BatchReport(
        settings, environment=ENV, files=FILES, inits=(Init(worker=0),), batches=batches
    )
    return replace(found, **more)  # type: ignore[arg-type]


GOOD = report(
    MiniBatch(0, FILES[:2], 0, (scored(("f0.csv 1", "f1.csv 1")),)),
    MiniBatch(1, FILES[2:], 0, (scored(("f2.csv 1", "f3.csv 1"), started=2, ended=3),)),
)


def written(tmp_path: Path, rows: list[str]) -> BatchReport:
    (tmp_path / "output").mkdir()
    (tmp_path / "output" / "predictions.csv").write_text("".join(f"{row}\n" for row in rows))
    return replace(GOOD, outputs=tmp_path)


def test_a_good_job_passes_every_check(tmp_path: Path) -> None:
    good = written(tmp_path, ["f0.csv 1", "f1.csv 1", "f2.csv 1", "f3.csv 1"])
    batch.batch_env(good)
    batch.batch_init(good)
    batch.batch_run(good)
    batch.batch_output(good)


def test_the_environment_names_each_missing_part() -> None:
    env = {
        **ENV,
        "azureml_core": "ModuleNotFoundError: No module named 'azureml'",
        "dataset_runtime": None,
    }
    with pytest.raises(CheckFailed) as failed:
        batch.batch_env(replace(GOOD, environment=env))
    first, second = str(failed.value).splitlines()[:2]
    assert first.startswith(
        "`import azureml.core` fails: ModuleNotFoundError: No module named 'azureml'"
    )
    assert first.endswith(
        "add azureml-core to the environment (the platform's batch driver imports it)"
    )
    assert second.startswith("azureml-dataset-runtime is not installed")


def test_pkg_resources_names_both_versions_and_the_fix() -> None:
    env = {
        **ENV,
        "azureml_core": "ModuleNotFoundError: No module named 'pkg_resources'",
        "versions": {"azureml-core": "1.61.0", "setuptools": "82.0.1"},
    }
    with pytest.raises(
        CheckFailed,
        match=r"azureml-core 1\.61\.0 imports pkg_resources, which setuptools "
        r"82\.0\.1 no longer has .*upgrade to azureml-core 1\.61\.0\.post2",
    ):
        batch.batch_env(replace(GOOD, environment=env))


def test_a_driver_that_could_not_run_fails_batch_env_and_the_rest_skip() -> None:
    broken = replace(GOOD, error="the batch driver could not run: no python or python3 on PATH")
    for check in (batch.batch_env, batch.batch_init, batch.batch_run, batch.batch_output):
        with pytest.raises(Unavailable, match="no python or python3 on PATH"):
            check(broken)


def test_every_worker_failing_init_is_one_cause() -> None:
    init = Init(error="Traceback ...\nKeyError: 'MODEL'\n", worker=0, log="loading\n")
    failed = replace(GOOD, inits=(init,), batches=(), not_run=(0, 1))
    with pytest.raises(Unavailable) as first:
        batch.batch_init(failed)
    assert str(first.value).startswith("init() failed in 1 of 1 worker(s): KeyError: 'MODEL'")
    with pytest.raises(Unavailable) as again:
        batch.batch_run(failed)
    assert str(again.value).splitlines()[0] == str(first.value).splitlines()[0]


def test_one_worker_failing_init_fails_while_the_other_scores() -> None:
    inits = (Init(worker=0), Init(error="ValueError: no GPU", worker=1))
    with pytest.raises(CheckFailed) as failed:
        batch.batch_init(replace(GOOD, inits=inits))
    assert not isinstance(failed.value, Unavailable)
    batch.batch_run(replace(GOOD, inits=inits))


@pytest.mark.parametrize(
    ("threshold", "outcome"),
    [
        (-1, "1 of 4 files failed; the job still succeeds (error_threshold -1"),
        (0, "1 of 4 files failed against error_threshold 0: the job fails"),
    ],
)
def test_a_short_return_names_the_file_and_the_platforms_consequence(
    threshold: int, outcome: str
) -> None:
    short = report(
        MiniBatch(0, FILES[:2], 0, (scored(("f0.csv 1",)),)),
        MiniBatch(1, FILES[2:], 0, (scored(("f2.csv", "f3.csv")),)),
        settings=BatchSettings(error_threshold=threshold),
    )
    with pytest.raises(CheckFailed) as failed:
        batch.batch_run(short)
    first, second = str(failed.value).splitlines()[:2]
    assert first.startswith(
        "run() returned 1 element(s) for the 2 files of mini-batch 0: f1.csv left unscored"
    )
    assert second.startswith(outcome)


def test_failed_files_within_an_explicit_threshold_warn() -> None:
    short = report(
        MiniBatch(0, FILES[:2], 0, (scored(("x",)),)), settings=BatchSettings(error_threshold=2)
    )
    with pytest.warns(
        pytest.PytestWarning, match="the platform cannot tell which.*the job succeeds without them"
    ):
        batch.batch_run(short)


def test_rows_that_name_no_file_say_the_platform_cannot_tell_which() -> None:
    short = report(MiniBatch(0, FILES[:2], 0, (scored(("0.7",)),)))
    with pytest.raises(
        CheckFailed, match=r"1 of f0\.csv, f1\.csv \(the platform cannot tell which\)"
    ):
        batch.batch_run(short)


def test_argparse_in_run_names_parse_known_args() -> None:
    exited = Try(error="Traceback...\nSystemExit: 2\n", exit="2", argparse=True)
    with pytest.raises(
        CheckFailed, match=r"run\(\) exited \(SystemExit 2\) in argparse: .*parse_known_args"
    ):
        batch.batch_run(report(MiniBatch(0, FILES, 0, (exited,))))


def test_a_line_break_in_an_element_fails_the_output(tmp_path: Path) -> None:
    rows = ["f0.csv 1", "f1.csv", "1", "f2.csv 1", "f3.csv 1"]
    with pytest.raises(CheckFailed, match="predictions.csv has 5 rows for the 4 elements run"):
        batch.batch_output(written(tmp_path, rows))


def summary(*batches: MiniBatch) -> BatchReport:
    return replace(
        report(*batches, settings=BatchSettings(output_action="summary_only")), outputs=Path("/x")
    )


def test_summary_only_with_nothing_written_fails() -> None:
    with pytest.raises(CheckFailed, match="nothing was written under AZUREML_BI_OUTPUT_PATH"):
        batch.batch_output(summary(*GOOD.batches))


def test_summary_only_own_files_pass_and_a_shared_one_fails() -> None:
    out = "/tmp/azureml-bi/output"
    own = summary(
        MiniBatch(0, FILES[:2], 0, (scored(("a",), changed=(f"{out}/f0.txt", f"{out}/f1.txt")),)),
        MiniBatch(
            1, FILES[2:], 0, (scored(("b",), started=2, ended=3, changed=(f"{out}/f2.txt",)),)
        ),
    )
    batch.batch_output(own)
    shared = summary(
        MiniBatch(0, FILES[:2], 0, (scored(("a",), changed=(f"{out}/all.txt",)),)),
        MiniBatch(
            1, FILES[2:], 0, (scored(("b",), started=2, ended=3, changed=(f"{out}/all.txt",)),)
        ),
    )
    with pytest.raises(
        CheckFailed, match=r"^all\.txt was written by mini-batches 0 \(f0\.csv, f1\.csv\) and 1"
    ):
        batch.batch_output(shared)


def test_a_change_while_another_mini_batch_ran_is_not_attributed() -> None:
    """Two workers at once: each one's listing sees the other's file; only the audit hook says whose it is."""
    out = "/tmp/azureml-bi/output"
    both = (f"{out}/f0.txt", f"{out}/f2.txt")
    concurrent = summary(
        MiniBatch(0, FILES[:2], 0, (scored(("a",), changed=both, audited=(both[0],)),)),
        MiniBatch(
            1,
            FILES[2:],
            1,
            (scored(("b",), started=0.5, ended=1.5, changed=both, audited=(both[1],)),),
        ),
    )
    batch.batch_output(concurrent)


def test_a_file_rewritten_for_each_input_fails() -> None:
    out = "/tmp/azureml-bi/output/result.parquet"
    rewritten = summary(
        MiniBatch(0, FILES[:2], 0, (scored(("a", "b"), audited=(out,), overwritten=(out,)),))
    )
    with pytest.raises(
        CheckFailed, match=r"^result\.parquet was rewritten for each file of mini-batch 0"
    ):
        batch.batch_output(rewritten)


def test_a_worker_killed_for_memory_is_memorys_to_report() -> None:
    killed = Init(error="the worker process ended during init() with exit code -9", worker=0)
    with pytest.raises(NotApplicable, match="see memory"):
        batch.batch_init(replace(GOOD, inits=(killed,), oom_kills=1))
    with pytest.raises(
        CheckFailed
    ):  # without the kernel's kill counted, it is init()'s own failure
        batch.batch_init(replace(GOOD, inits=(killed,)))
