"""Our batch driver, run by this machine's Python on scripts in a temporary folder (it is standard library only,
as in the image): workers, mini-batches, retries, timeouts, crashes and the output, without an engine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pytest_amlimage.config.deployment import BatchSettings
from pytest_amlimage.endpoint.batch import BatchReport, configuration, driver_file, parse
from pytest_amlimage.engine.container import ExecResult


def drive(tmp_path: Path, script: str, settings: BatchSettings, files: int = 4) -> BatchReport:
    """The driver on ``script`` over ``files`` input files (and a nested folder it must not read)."""
    data = tmp_path / "data"
    (data / "nested").mkdir(parents=True)
    (data / "nested" / "deep.csv").write_text("x\n")
    for index in range(files):
        (data / f"f{index}.csv").write_text(f"x\n{index}\n")
    (tmp_path / "score.py").write_text(script)
    config = configuration(settings, data, str(tmp_path / "score.py"), None)
    config.update(inputs=[str(data)], output=str(tmp_path / "out"), logs=str(tmp_path / "logs"))
    done = subprocess.run(
        [sys.executable, str(driver_file()), json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return parse(ExecResult(done.returncode, done.stdout, done.stderr), settings)


def test_files_go_in_mini_batches_to_every_worker_and_rows_come_back_in_order(
    tmp_path: Path,
) -> None:
    script = (
        "import os\ndef init(): pass\ndef run(batch): return [os.path.basename(p) for p in batch]\n"
    )
    found = drive(
        tmp_path, script, BatchSettings(max_concurrency_per_instance=2, mini_batch_size=3)
    )
    assert [len(b.files) for b in found.batches] == [3, 1]
    assert [path.rsplit("/", 1)[1] for path in found.nested] == ["nested"]
    assert len(found.inits) == 2 and all(init.error is None for init in found.inits)
    rows = (tmp_path / "out" / "predictions.csv").read_text().splitlines()
    assert rows == ["f0.csv", "f1.csv", "f2.csv", "f3.csv"]


def test_the_script_sees_the_drivers_arguments_and_a_context_when_it_asks(tmp_path: Path) -> None:
    script = (
        "import sys\ndef init(): pass\n"
        "def run(batch, context): return [' '.join(sys.argv[1:3]) + ' ' + str(context.minibatch_index)]\n"
    )
    found = drive(tmp_path, script, BatchSettings(mini_batch_size=4))
    assert found.batches[0].last.rows == ("--scoring_module_name score.py 0",)


def test_a_timeout_restarts_the_worker_and_retries(tmp_path: Path) -> None:
    script = (
        "import time\ninits = 0\ndef init():\n    print('init', flush=True)\n"
        "def run(batch):\n    time.sleep(5)\n    return batch\n"
    )
    settings = BatchSettings(mini_batch_size=4, timeout=0.3, max_retries=1)
    found = drive(tmp_path, script, settings)
    (only,) = found.batches
    assert [one.timeout for one in only.tries] == [0.3, 0.3]
    log = (tmp_path / "logs" / "worker-0.txt").read_text().splitlines()
    assert log.count("init") == 3  # the script's own line: first, after each timeout
    # the driver's own lines beside it, as the platform's driver logs each worker's steps
    assert sum("mini-batch 0 (4 files): no progress within 0.3 s" in line for line in log) == 2


def test_a_worker_that_dies_is_said_with_its_exit_code_and_log(tmp_path: Path) -> None:
    script = "import os\ndef init(): pass\ndef run(batch):\n    print('bye', flush=True)\n    os._exit(3)\n"
    found = drive(tmp_path, script, BatchSettings(mini_batch_size=4, max_retries=0))
    last = found.batches[0].last
    assert last.error == "the worker process ended during run() with exit code 3"
    assert "bye" in last.log


def test_an_exception_is_retried_in_the_same_worker_and_shutdown_is_called(tmp_path: Path) -> None:
    script = (
        "calls = []\ndef init(): pass\n"
        "def run(batch):\n    calls.append(1)\n    if len(calls) < 2: raise ValueError('flaky')\n    return batch\n"
        "def shutdown(): print('shut down', flush=True)\n"
    )
    found = drive(tmp_path, script, BatchSettings(mini_batch_size=4))
    (only,) = found.batches
    assert [one.last_line for one in only.tries] == ["ValueError: flaky", ""]
    assert "shut down" in (tmp_path / "logs" / "worker-0.txt").read_text()
