"""The probe's JSON document, part by part, as typed records: what each in-image part writes and the host reads.

The in-image parts name these only for the type checker (under ``TYPE_CHECKING``: they run on the image's own
Python, standard library only); the host reads the document once, in ``probe.from_json``, and every check reads
these keys through mypy's eyes. A key a part may leave out is in a ``total=False`` record.
"""

from __future__ import annotations

from typing import TypedDict


class PythonDoc(TypedDict, total=False):
    version: str
    executable: str
    on_path: str | None  # the `python` a shell would run, when it is not the serving one


class UserDoc(TypedDict, total=False):
    uid: int
    gid: int
    name: str | None
    groups: list[int]


class DistributionDoc(TypedDict, total=False):
    """One installed distribution (or ``error`` for one whose metadata cannot be read)."""

    name: str
    version: str
    requires: list[str]
    top_level: list[str]
    requires_python: str | None
    module: str | None  # the module a wanted distribution is imported as
    error: str


class ImportDoc(TypedDict, total=False):
    """Importing a module in a child process: its version, a framework's CUDA build, or the error."""

    module: str | None
    version: str
    cuda: str | None
    cudnn: str | int | None
    error: str


class FolderDoc(TypedDict, total=False):
    """The app root or the model folder: whether the user reads it, and what anyone may write below it."""

    path: str | None
    exists: bool
    readable: bool
    world_writable: list[str]


class RuntimeFolderDoc(TypedDict, total=False):
    """A folder a runit service writes as the runtime user."""

    path: str
    exists: bool
    writable: bool
    owner: int | None
    needed_by: str


class EntryScriptDoc(TypedDict, total=False):
    """The entry script as the server imports it: its imports resolved, init and run as the server sees them."""

    path: str | None
    exists: bool
    in_workdir: str | None
    error: str
    imports: list[str]  # its top-level imports, by their dotted names
    missing: list[str]
    elsewhere: dict[str, str]  # a missing module -> another Python in the image that has it
    beside: list[str]
    searched: list[str]
    app_root: str
    functions: list[str]
    run_varargs: bool
    run_decorators: list[str]


class ServerScriptDoc(TypedDict, total=False):
    """The azmlinfsrv that starts, and the program its ``#!`` line names (said by the launcher)."""

    path: str
    error: str
    shebang: str | None
    interpreter: str | None
    runs: bool | None  # None: no #! line to tell from


class FindingDoc(TypedDict):
    """A credential in a file: where, what kind, and its value masked."""

    path: str
    line: int
    what: str
    value: str


class CredentialsDoc(TypedDict, total=False):
    findings: list[FindingDoc]
    unreadable: list[str]


class OsPackageDoc(TypedDict):
    version: str
    arch: str


class OsPackagesDoc(TypedDict, total=False):
    manager: str | None  # dpkg, apk, rpm, or None
    packages: dict[str, OsPackageDoc]


class EvidenceDoc(TypedDict):
    """One piece of CUDA or cuDNN evidence (``probe.Evidence`` on the host)."""

    library: str
    origin: str
    source: str
    version: str | None
    error: str | None


class PkgResourcesDoc(TypedDict):
    """Whether pkg_resources imports (setuptools 82 removed it), and where not, who imports it as it loads."""

    available: bool
    importers: dict[str, str]  # distribution -> file:line of its import


class ProbeDoc(TypedDict, total=False):
    """The whole document the probe prints."""

    python: PythonDoc
    user: UserDoc
    os_release: dict[str, str]
    markers: dict[str, str]
    distributions: dict[str, DistributionDoc]
    broken_distributions: list[str]
    folders: dict[str, FolderDoc]
    runtime_folders: list[RuntimeFolderDoc]
    # each runit run script -> the AZUREML_EXTRA_* variables it reads
    start_scripts: dict[str, list[str]]
    # each runit run script that runs pip at start -> its first such line
    pip_at_start: dict[str, int]
    pkg_resources: PkgResourcesDoc
    credentials: CredentialsDoc
    os_packages: OsPackagesDoc
    image_information: str | None
    entry_script: EntryScriptDoc
    frameworks: dict[str, ImportDoc]
    imports: dict[str, ImportDoc]  # distribution -> its module's import
    gpu_evidence: list[EvidenceDoc]


# ---- the batch driver (probe/inimage/batch_driver.py): what the host tells it, and what it reports ----------


class BatchConfigDoc(TypedDict):
    """What the host tells the driver (``endpoint/batch.py: configuration``)."""

    script: str | None  # the scoring script inside, or None for an MLflow model with no script
    mlflow_model: str | None
    inputs: list[str]
    mini_batch_size: int
    workers: int  # max_concurrency_per_instance
    timeout: float  # retry_settings.timeout, seconds a try
    max_retries: int
    error_threshold: int
    output_action: str
    output_file_name: str
    logging_level: str
    output: str  # AZUREML_BI_OUTPUT_PATH
    logs: str


class WorkerDoc(TypedDict, total=False):
    """A worker's message, as the report keeps it: an init() (``event`` init) or a try of a mini-batch (run), and
    why it failed."""

    event: str
    worker: int
    seconds: float  # an init()'s
    started: float  # a try's, wall clock
    ended: float
    count: int | None  # the elements run() returned
    rows: list[str]
    timeout: float  # the try ran out of this many seconds
    error: str  # the traceback, or what ended the worker
    exit: str  # a SystemExit's code
    argparse: bool  # argparse raised the SystemExit
    went: bool  # the worker process is gone: a fresh one takes over
    log: str
    changed: list[str]  # summary_only: files under the output folder the try changed,
    audited: list[str]  # opened for writing,
    overwritten: list[str]  # and truncated twice


class MiniBatchDoc(TypedDict):
    index: int
    files: list[str]
    worker: int
    tries: list[WorkerDoc]


class BatchEnvironmentDoc(TypedDict, total=False):
    """What the platform's driver needs as it starts: each problem's last line, None when it worked."""

    python: str
    version: str
    azureml_core: str | None
    pip: str | None
    versions: dict[str, str | None]
    dataset_runtime: str | None


class BatchReportDoc(TypedDict, total=False):
    inits: list[WorkerDoc]
    batches: list[MiniBatchDoc]
    files: list[str]
    nested: list[str]  # folders in the input, not read
    seconds: float
    not_run: list[int]
    environment: BatchEnvironmentDoc
