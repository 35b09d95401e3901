"""pytest-amlimage: validate Docker images extended from Azure ML's prebuilt inference images.

The types the fixtures hand to your own tests, to type against::

    from pytest_amlimage import AmlContainer, Facts, ScoringClient

    def test_model_loads(aml_container: AmlContainer, aml_environment: Facts, aml_scoring: ScoringClient): ...

They are imported on first use, so importing the package (as pytest does for every run) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_amlimage.endpoint.scoring import Readiness, ScoringClient
    from pytest_amlimage.engine.container import AmlContainer, ExecResult, LaunchPlan
    from pytest_amlimage.errors import AmlUsageError, CheckFailed
    from pytest_amlimage.probe import Distribution, Evidence, Facts

__version__ = "0.1.0"
__all__ = [
    "AmlContainer",
    "AmlUsageError",
    "CheckFailed",
    "Distribution",
    "Evidence",
    "ExecResult",
    "Facts",
    "LaunchPlan",
    "Readiness",
    "ScoringClient",
]
_HOMES = {  # public name -> the module that defines it
    "AmlContainer": "engine.container",  # aml_container
    "ExecResult": "engine.container",  # what AmlContainer.exec returns
    "LaunchPlan": "engine.container",  # AmlContainer.plan: how the container was started
    "Facts": "probe",  # aml_environment
    "Distribution": "probe",  # Facts.distributions' values
    "Evidence": "probe",  # Facts.gpu_evidence's items
    "ScoringClient": "endpoint.scoring",  # aml_scoring
    "Readiness": "endpoint.scoring",  # how the server came up
    "CheckFailed": "errors",  # what a check body raises
    "AmlUsageError": "errors",  # a bad option value
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'pytest_amlimage' has no attribute {name!r}")
    return getattr(importlib.import_module(f"pytest_amlimage.{_HOMES[name]}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
