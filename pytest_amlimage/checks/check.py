"""What a built-in check is: a body bound to its inputs, some of which exist only once the container runs.

Every check body is a plain function of what it judges (facts, a serving container, expectations) that
raises ``CheckFailed`` with what was found, what was expected, where the expectation came from, and
what to do. The assembler binds the inputs; an input only known once the container runs is bound as
``Later(getter)`` and fetched when the check runs, never at collection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

T = TypeVar("T")
Properties = list[tuple[str, object]]

# The JUnit properties the checks and the run write, and the report reads.
IMAGE = "aml_image"  # the image's reference, on every check's report
FACT_PREFIX = "aml_"  # the image's facts: aml_python, aml_numpy, aml_cuda, ...
CHANGES = "amlimage_changes"  # what changed against a baseline or lock
LATENCY = "amlimage_latency"  # baseline and candidate scoring latency
# figures held against the endpoint: probe budget, concurrency, base age
ENDPOINT = "amlimage_endpoint"


@dataclass(frozen=True)
class Later(Generic[T]):
    """An input fetched when the check runs (the facts, the serving container), not when it is collected."""

    get: Callable[[], T]


@dataclass(frozen=True)
class Check:
    """A built-in check bound to one image: its stable id, its body and the inputs bound to it."""

    id: str
    body: Callable[..., None]
    args: tuple[Any, ...] = ()
    properties: Callable[[], Properties] | None = None

    def run(self) -> None:
        self.body(*(arg.get() if isinstance(arg, Later) else arg for arg in self.args))


def endpoint_figures(figures: dict[str, Any]) -> Properties:
    """Figures of the endpoint's kind (merged per image by the report); nothing when there are none."""
    return [(ENDPOINT, figures)] if figures else []
