"""What a built-in check is: an id and a body bound to its inputs, and the typed figures it gives back.

The assembler binds each check as ``Check(id, run)``, ``run`` a closure over the image under test, so mypy
checks every argument a body gets. A body raises ``CheckFailed`` with what was found, what was expected,
where the expectation came from and what to do; ``NotApplicable`` when it has nothing to judge (the item
skips). A body that measures returns its figures, or attaches them to its failure (``attached``): the
summary, JUnit and the reports read them as the records below.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, TypeVar, Union, cast

from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Facts

Properties = list[tuple[str, object]]

# The JUnit properties the checks and the run write, and the report reads.
IMAGE = "aml_image"  # the image's reference, on every check's report
FACT_PREFIX = "aml_"  # the image's facts: aml_python, aml_numpy, aml_cuda, ...
CHANGES = "amlimage_changes"  # what changed against a baseline or lock
LATENCY = "amlimage_latency"  # baseline and candidate scoring latency
CAPACITY = "amlimage_capacity"  # how much the image serves on each instance type
# figures held against the endpoint: probe budget, concurrency, base age, memory (one key each)
ENDPOINT = "amlimage_endpoint"

R = TypeVar("R", bound="Record")
F = TypeVar("F", bound="Figures")


@dataclass(frozen=True)
class Record:
    """A check's figures: JSON-safe, so they cross xdist and land in JUnit XML; read back by the report."""

    PROPERTY: ClassVar[str] = ENDPOINT
    # under ENDPOINT: the figure's key; elsewhere the property holds the record whole
    KEY: ClassVar[str] = ""

    def property(self) -> tuple[str, object]:
        found = dataclasses.asdict(self)
        return (self.PROPERTY, {self.KEY: found} if self.KEY else found)

    @classmethod
    def read(cls: type[R], found: Any) -> R | None:
        """The record from what ``property`` wrote (None when it is not there)."""
        if not isinstance(found, dict):
            return None
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{key: value for key, value in found.items() if key in names})


@dataclass(frozen=True)
class BaseFigures(Record):
    KEY = "base"
    reference: str
    date: str
    age_days: int
    limit_days: int


@dataclass(frozen=True)
class ProbeFigures(Record):
    KEY = "probe"
    ready_s: float
    budget_s: float


@dataclass(frozen=True)
class ConcurrencyFigures(Record):
    KEY = "concurrency"
    requests: int
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class MemoryFigures(Record):
    KEY = "memory"
    peak_mib: float | None
    phase: str | None
    limit_mib: float
    margin: float | None
    oom_killed: bool
    workers: int
    per_worker_mib: float
    max_workers: int | None
    fits: list[str]
    phases: list[tuple[str, float]]
    sized_by: str
    capped: str = ""  # the instance type's vCPUs capped at the engine's
    # the kernel's own peak counter; else sampled from the engine's stats (may be low)
    exact: bool = True
    # a deployment template's allowed instance types: (name, memory MiB, whether the peak fits)
    allowed: list[tuple[str, float, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class LatencyFigures(Record):
    PROPERTY = LATENCY
    image: str
    baseline_ms: float
    candidate_ms: float


@dataclass(frozen=True)
class ChangeFigures(Record):
    PROPERTY = CHANGES
    image: str
    against: str
    changes: list[dict[str, Any]]
    server_changes: list[str]


@dataclass(frozen=True)
class CapacityFigures(Record):
    """The capacity run: a row each instance type and WORKER_COUNT (the JSON report's interface, documented in
    docs/reference.md), the steps behind them (for the chart), and the recommendation."""

    PROPERTY = CAPACITY
    image: str
    bound_ms: float
    bound: str  # where the bound comes from
    target_rps: float | None
    rows: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    per_type: list[dict[str, Any]]  # a recommendation for each type
    recommendation: dict[str, Any] | None
    # each type's run: seconds it took, why its sweep stopped, the cores it ran on, its estimate rule
    types: list[dict[str, Any]] = field(default_factory=list)


Figures = Union[
    BaseFigures,
    ProbeFigures,
    ConcurrencyFigures,
    MemoryFigures,
    LatencyFigures,
    ChangeFigures,
    CapacityFigures,
]


@dataclass(frozen=True)
class Check:
    """A built-in check bound to one image: its stable id, and its body with every input bound."""

    id: str
    run: Callable[[], Figures | None]


@contextmanager
def attached(figures: F | None) -> Iterator[F | None]:
    """The figures go with a failure raised inside: a check that fails still reports what it measured
    (``None``: it measured nothing)."""
    try:
        yield figures
    except CheckFailed as failed:
        failed.figures = figures
        raise


def figures_of(error: BaseException) -> Figures | None:
    found = getattr(error, "figures", None)
    return cast("Figures", found) if isinstance(found, Record) else None


def require_python(facts: Facts, what: str) -> None:
    """The probe ran in the serving interpreter; else no check of what is installed can be made."""
    if facts.python_error:
        raise CheckFailed(f"cannot check {what}: {facts.python_error}")
