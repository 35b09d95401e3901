"""Our batch driver: a batch deployment's scoring script run as the platform's driver runs it, in the image.

The platform's own driver (``driver/amlbi_main.py``) is not published; this one is written from Microsoft's
documents (how-to-batch-scoring-script, reference-yaml-deployment-batch, how-to-mlflow-batch,
how-to-troubleshoot-batch-endpoints). Standard library only, for Python 3.9 and later. What it does:

- the environment as the driver needs it: ``import azureml.core``, ``python -m pip``, azureml-dataset-runtime;
- ``max_concurrency_per_instance`` worker processes, each importing the script and calling ``init()`` once, with
  driver-like arguments in ``sys.argv`` (``parse_args()`` exits on them, ``parse_known_args()`` does not);
- absolute file paths fed in mini-batches of ``mini_batch_size``; each try of a mini-batch gets
  ``retry_settings.timeout`` seconds ("No progress update"), and ``max_retries`` more tries;
- one element per file scored: a shorter return marks the rest failed, counted against ``error_threshold``;
- ``append_row``: every return appended to ``output_file_name`` (a DataFrame's rows space-separated, with no
  column names); ``summary_only``: nothing merged, and the files each mini-batch wrote under
  ``AZUREML_BI_OUTPUT_PATH`` are recorded (an ``open`` audit hook, and the folder's listing before and after);
- an MLflow model with no script is scored as the generated driver would: ``.csv`` and ``.parquet`` read as
  DataFrames, images as arrays, ``predict`` once per file, columns ``row``, ``prediction``, ``file_name``.

The report is one JSON document on stdout between ``REPORT_BEGIN`` and ``REPORT_END``.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import os
import queue
import select
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from importlib import import_module
from typing import IO, TYPE_CHECKING, Any

# the records the host reads (probe/shapes.py), for the type checker: this file runs on the standard library
if TYPE_CHECKING:
    from ..shapes import BatchConfigDoc as Config
    from ..shapes import BatchEnvironmentDoc, BatchReportDoc, MiniBatchDoc, WorkerDoc

REPORT_BEGIN = "@@AMLIMAGE-BATCH-BEGIN@@"
REPORT_END = "@@AMLIMAGE-BATCH-END@@"
WORKER = "--amlimage-batch-worker"
INIT_LIMIT = 900.0  # seconds a worker's import and init() may take
ENDING = 5.0  # seconds a worker that closed its pipe gets to end
TABLES = (".csv", ".parquet", ".pqt")
IMAGES = (".png", ".jpg", ".jpeg", ".tiff", ".bmp", ".gif")
LOG_TAIL = 3000  # characters of a worker's log kept with a failure


def driver_arguments(config: Config) -> list[str]:
    """The arguments the platform's driver passes on, which the script sees in ``sys.argv``."""
    return [
        "--scoring_module_name",
        os.path.basename(config.get("script") or "mlflow_score.py"),
        "--mini_batch_size",
        str(config["mini_batch_size"]),
        "--error_threshold",
        str(config["error_threshold"]),
        "--output_action",
        config["output_action"],
        "--logging_level",
        config["logging_level"].upper(),
        "--run_invocation_timeout",
        str(int(config["timeout"])),
        "--run_max_try",
        str(config["max_retries"]),
        "--output",
        config["output"],
    ]


# ---- the worker process ----------------------------------------------------------------------------------


def _send(channel: IO[str], message: WorkerDoc | dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def _failure(error: BaseException) -> WorkerDoc:
    found: WorkerDoc = {
        "error": "".join(traceback.format_exception(type(error), error, error.__traceback__))
    }
    if isinstance(error, SystemExit):
        found["exit"] = str(error.code)
        found["argparse"] = any(
            frame.filename.endswith("argparse.py")
            for frame in traceback.extract_tb(error.__traceback__)
        )
    return found


class Writes:
    """The files opened for writing under the output folder, as the interpreter audits them."""

    def __init__(self, folder: str) -> None:
        self.folder = folder.rstrip("/") + "/"
        self.seen: list[str] = []
        self.truncated: list[str] = []

    def hook(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path, mode, flags = args[0], args[1], args[2] if len(args) > 2 else 0
            writing = (mode and any(c in str(mode) for c in "wax+")) or (
                mode is None and flags & (os.O_WRONLY | os.O_RDWR)
            )
            self._note(path, writing, (mode and "w" in str(mode)) or flags & os.O_TRUNC)
        elif event in ("os.rename", "os.replace") and len(args) > 1:
            self._note(args[1], True, True)

    def begin(self) -> dict[str, list[int]]:
        """A mini-batch starts: nothing seen yet; the output folder's listing as it is."""
        self.seen, self.truncated = [], []
        return _listing(self.folder)

    def end(self, before: dict[str, list[int]]) -> WorkerDoc:
        """What the mini-batch wrote: files changed since ``before``, opened for writing, truncated twice."""
        after, truncations = _listing(self.folder), Counter(self.truncated)
        return {
            "changed": sorted(path for path, seen in after.items() if before.get(path) != seen),
            "audited": sorted(set(self.seen)),
            "overwritten": sorted(path for path, count in truncations.items() if count > 1),
        }

    def _note(self, path: Any, writing: object, truncating: object) -> None:
        if not writing:
            return
        text = os.path.abspath(os.fsdecode(path))
        if text.startswith(self.folder):
            self.seen.append(text)
            if truncating:
                self.truncated.append(text)


def _listing(folder: str) -> dict[str, list[int]]:
    found = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            found[path] = [stat.st_mtime_ns, stat.st_size, stat.st_ino]
    return found


def _elements(result: Any) -> tuple[int, list[str]]:
    """(count, rows as text) of what run() returned: a list, an array or a DataFrame."""
    if result is None:
        return 0, []
    if hasattr(result, "to_csv") and hasattr(result, "columns"):  # a DataFrame
        text = result.to_csv(sep=" ", header=False, index=False)
        return len(result), text.splitlines()
    if hasattr(result, "tolist"):  # an array or a Series
        result = result.tolist()
    if isinstance(result, (list, tuple)):
        rows = [
            " ".join(map(str, item)) if isinstance(item, (list, tuple)) else str(item)
            for item in result
        ]
        return len(rows), rows
    raise TypeError(f"run() returned {type(result).__name__}, not a list, an array or a DataFrame")


class MlflowScript:
    """The script the platform generates for an MLflow model deployed with none: predict once per file."""

    def __init__(self, model: str) -> None:
        self.model_path = model
        self.model: Any = None

    def init(self) -> None:
        self.model = import_module("mlflow.pyfunc").load_model(self.model_path)

    def run(self, mini_batch: list[str]) -> Any:
        pandas = import_module("pandas")

        frames = []
        for path in mini_batch:
            suffix = os.path.splitext(path)[1].lower()
            if suffix in TABLES:
                data = pandas.read_csv(path) if suffix == ".csv" else pandas.read_parquet(path)
                rows = list(range(len(data)))
            elif suffix in IMAGES:
                image = import_module("PIL.Image").open(path)
                data, rows = import_module("numpy").asarray(image), [0]
            else:
                raise ValueError(
                    f"{os.path.basename(path)}: the MLflow batch driver reads only {', '.join(TABLES + IMAGES)} "
                    f"files, not {suffix or 'files without a suffix'}: the job fails"
                )
            predicted = self.model.predict(data)
            values = predicted.tolist() if hasattr(predicted, "tolist") else list(predicted)
            name = os.path.basename(path)
            frames.append(
                pandas.DataFrame(
                    {
                        "row": rows[: len(values)] or range(len(values)),
                        "prediction": values,
                        "file_name": name,
                    }
                )
            )
        return pandas.concat(frames, ignore_index=True) if frames else []


def _load_script(config: Config) -> Any:
    model, script = config["mlflow_model"], config["script"]
    if model:
        return MlflowScript(model)
    if not script:
        raise ImportError("the deployment names neither a scoring script nor an MLflow model")
    folder = os.path.dirname(script)
    os.chdir(folder)
    sys.path.insert(0, folder)
    name = os.path.splitext(os.path.basename(script))[0]
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise ImportError(f"{script} cannot be imported: name a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def worker(config: Config, commands: int, results: int) -> None:
    """One worker: import the script, init() once, then run() each mini-batch it is sent."""
    out, incoming = os.fdopen(results, "w"), os.fdopen(commands)
    sys.argv = [config.get("script") or "mlflow_score.py", *driver_arguments(config)]
    # summary_only: what each mini-batch writes is recorded (append_row's output file is the driver's)
    writes = Writes(config["output"]) if config["output_action"] == "summary_only" else None
    if writes is not None:
        sys.addaudithook(writes.hook)
    started = time.monotonic()
    try:
        script = _load_script(config)
        if callable(getattr(script, "init", None)):
            script.init()
    except BaseException as error:  # SystemExit too: argparse's exit is the classic case
        _send(out, {"event": "init", "seconds": time.monotonic() - started, **_failure(error)})
        return
    _send(out, {"event": "init", "seconds": time.monotonic() - started})
    run = getattr(script, "run", None)
    for line in incoming:
        message = json.loads(line)
        if message.get("shutdown"):
            if callable(getattr(script, "shutdown", None)):
                script.shutdown()
            return
        _send(out, _run_one(run, message["files"], writes))


def _run_one(run: Any, files: list[str], writes: Writes | None) -> WorkerDoc:
    before = writes.begin() if writes is not None else {}
    started = time.time()
    found: WorkerDoc = {"event": "run", "started": started}
    try:
        if not callable(run):
            raise AttributeError("the scoring script defines no run(mini_batch)")
        takes_context = len(inspect.signature(run).parameters) > 1
        result = run(files, _Context(files)) if takes_context else run(files)
        found["count"], found["rows"] = _elements(result)
    except BaseException as error:
        found.update(_failure(error))
    found["ended"] = time.time()
    if writes is not None:
        found.update(writes.end(before))
    return found


class _Context:
    """``mini_batch_context`` for a script whose run() takes two arguments."""

    def __init__(self, files: list[str]) -> None:
        self.minibatch_index, self.dataset = 0, None
        self.partition_key_value: dict[str, str] = {}
        self.files = files


# ---- the driver process ----------------------------------------------------------------------------------


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def environment_report() -> BatchEnvironmentDoc:
    """What the platform's driver needs as it starts: azureml-core importable, pip working, the dataset runtime."""
    checks = {
        "azureml_core": [sys.executable, "-c", "import azureml.core"],
        "pip": [sys.executable, "-m", "pip", "--version"],
    }
    running = {
        name: subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name, command in checks.items()
    }
    said: dict[str, str | None] = {}
    for name, process in running.items():
        stdout, stderr = process.communicate()
        said[name] = (
            None
            if process.returncode == 0
            else (_last_line(stderr or stdout) or f"exit code {process.returncode}")
        )
    from importlib import metadata

    versions: dict[str, str | None] = {}
    for name in ("azureml-core", "azureml-dataset-runtime", "setuptools"):
        try:
            versions[name] = metadata.version(name)
        except Exception:  # not installed (or its metadata is unreadable)
            versions[name] = None
    return {
        "python": sys.executable,
        "version": sys.version.split()[0],
        "azureml_core": said["azureml_core"],
        "pip": said["pip"],
        "versions": versions,
        "dataset_runtime": versions["azureml-dataset-runtime"],
    }


def input_files(paths: list[str]) -> tuple[list[str], list[str]]:
    """(files, nested folders left out): each input file, or a folder's own files, sorted; as absolute paths."""
    files: list[str] = []
    nested: list[str] = []
    for path in paths:
        if os.path.isfile(path):
            files.append(os.path.abspath(path))
            continue
        for name in sorted(os.listdir(path)):
            child = os.path.join(path, name)
            (files if os.path.isfile(child) else nested).append(os.path.abspath(child))
    return files, nested


class Slot:
    """One worker process, restarted after a timeout or a crash; its log is a file of its own."""

    def __init__(self, index: int, config: Config, config_text: str) -> None:
        self.index, self.config, self.config_text = index, config, config_text
        self.log = os.path.join(config["logs"], f"worker-{index}.txt")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerDoc:
        commands_read, commands_write = os.pipe()
        results_read, results_write = os.pipe()
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    WORKER,
                    self.config_text,
                    str(commands_read),
                    str(results_write),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(commands_read, results_write),
            )
        os.close(commands_read)
        os.close(results_write)
        self.commands = os.fdopen(commands_write, "w")
        self.results = os.fdopen(results_read)
        found = self.receive(INIT_LIMIT, "init()")
        if found is not None:
            return found
        self.stop()
        return {
            "error": f"the import and init() did not end within {INIT_LIMIT:g} s",
            "log": self.tail(),
        }

    def receive(self, limit: float, during: str) -> WorkerDoc | None:
        """The worker's next message within ``limit`` seconds, or why it ended; None when it timed out."""
        ready, _, _ = select.select([self.results], [], [], limit)
        if not ready:
            return None
        line = self.results.readline()
        # no line: the worker is gone
        found: WorkerDoc = json.loads(line) if line else self.ended(during)
        return found

    def ended(self, during: str) -> WorkerDoc:
        """The worker process ended on its own (a crash, os._exit, the kernel's kill): its exit code and log."""
        if self.process is not None:
            try:
                self.process.wait(timeout=ENDING)
            except subprocess.TimeoutExpired:  # it closed its pipe but lives on
                self.stop()
        code = self.process.returncode if self.process is not None else None
        return {
            "error": f"the worker process ended during {during} with exit code {code}",
            "went": True,
            "log": self.tail(),
        }

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            self.process.wait()

    def note(self, text: str) -> None:
        """A line of the driver's own in the worker's log, as the platform's driver logs each worker's steps."""
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        with open(self.log, "a") as log:
            log.write(f"{stamp} amlimage-batch worker {self.index}: {text}\n")

    def tail(self) -> str:
        try:
            with open(self.log, errors="replace") as log:
                return log.read()[-LOG_TAIL:]
        except OSError:
            return ""

    def run(self, files: list[str]) -> WorkerDoc:
        try:
            _send(self.commands, {"files": files})
        except OSError:
            return {"event": "run", **self.ended("run()")}
        found = self.receive(self.config["timeout"], "run()")
        if found is not None:
            return {"event": "run", **found}
        self.stop()
        return {"event": "run", "timeout": self.config["timeout"], "went": True, "log": self.tail()}

    def shutdown(self) -> None:
        try:
            _send(self.commands, {"shutdown": True})
            if self.process is not None:
                self.process.wait(timeout=30)
        except Exception:
            self.stop()


def serve_slot(
    slot: Slot,
    batches: queue.Queue[tuple[int, list[str]]],
    report: BatchReportDoc,
    lock: threading.Lock,
) -> None:
    """One worker's loop: init(), then mini-batches until none is left, each tried 1 + max_retries times."""
    init = slot.start()
    slot.note(
        f"init() failed: {_last_line(init['error'])}"
        if "error" in init
        else f"init() ended in {init.get('seconds', 0.0):.2f} s"
    )
    with lock:
        report.setdefault("inits", []).append(
            {"worker": slot.index, **init, "log": slot.tail() if "error" in init else ""}
        )
    if "error" in init:
        slot.stop()
        return
    while True:
        try:
            index, files = batches.get_nowait()
        except queue.Empty:
            break
        tries: list[WorkerDoc] = []
        for _ in range(1 + slot.config["max_retries"]):
            found = slot.run(files)
            slot.note(f"mini-batch {index} ({len(files)} files): {_outcome(found)}")
            tries.append(found)
            if "error" not in found and "timeout" not in found:
                break
            if found.get("went"):  # the worker is gone: a fresh one, init() again
                again = slot.start()
                if "error" in again:
                    tries.append({"event": "init", **again})
                    break
        batch: MiniBatchDoc = {"index": index, "files": files, "worker": slot.index, "tries": tries}
        with lock:
            report.setdefault("batches", []).append(batch)
    slot.shutdown()


def _outcome(found: WorkerDoc) -> str:
    """A try of a mini-batch in a line of the worker's log."""
    if "timeout" in found:
        return f"no progress within {found['timeout']:g} s: the worker is restarted"
    if "error" in found:
        return f"run() failed: {_last_line(found['error'])}"
    seconds = found.get("ended", 0.0) - found.get("started", 0.0)
    return f"run() returned {found.get('count')} elements in {seconds:.2f} s"


def write_rows(config: Config, batches: list[MiniBatchDoc]) -> None:
    """append_row: every mini-batch's returned rows, in input order, in the output file."""
    path = os.path.join(config["output"], config["output_file_name"])
    with open(path, "w") as output:
        for batch in sorted(batches, key=lambda b: b["index"]):
            last = batch["tries"][-1]
            for row in (
                last.get("rows", []) if "error" not in last and "timeout" not in last else []
            ):
                output.write(row + "\n")


def drive(config: Config, config_text: str) -> BatchReportDoc:
    os.makedirs(config["output"], exist_ok=True)
    os.makedirs(config["logs"], exist_ok=True)
    report: BatchReportDoc = {"inits": [], "batches": []}
    environment: BatchEnvironmentDoc = {}
    checking = threading.Thread(target=lambda: environment.update(environment_report()))
    checking.start()
    files, nested = input_files(config["inputs"])
    report["files"], report["nested"] = files, nested
    batches: queue.Queue[tuple[int, list[str]]] = queue.Queue()
    size = config["mini_batch_size"]
    for index, start in enumerate(range(0, len(files), size)):
        batches.put((index, files[start : start + size]))
    lock = threading.Lock()
    slots = [Slot(index, config, config_text) for index in range(config["workers"])]
    threads = [
        threading.Thread(target=serve_slot, args=(slot, batches, report, lock)) for slot in slots
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    report["seconds"] = time.monotonic() - started
    report["not_run"] = sorted(index for index, _ in list(batches.queue))
    if config["output_action"] == "append_row":
        write_rows(config, report.get("batches", []))
    checking.join()
    report["environment"] = environment
    return report


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] == WORKER:
        worker(json.loads(argv[2]), int(argv[3]), int(argv[4]))
        return 0
    config = json.loads(argv[1])
    report = drive(config, argv[1])
    sys.stdout.write(f"\n{REPORT_BEGIN}\n{json.dumps(report)}\n{REPORT_END}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
