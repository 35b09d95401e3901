"""The names users' own tests type against come from the package itself, without importing docker early."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pytest_amlimage
from pytest_amlimage.endpoint.scoring import ScoringClient
from pytest_amlimage.engine.container import AmlContainer, ExecResult
from pytest_amlimage.probe import Facts


def test_the_fixture_types_are_exported() -> None:
    from pytest_amlimage import AmlContainer as Container
    from pytest_amlimage import ExecResult as Result
    from pytest_amlimage import Facts as Found
    from pytest_amlimage import ScoringClient as Client

    assert (Container, Result, Found, Client) == (AmlContainer, ExecResult, Facts, ScoringClient)
    exported = {name: getattr(pytest_amlimage, name) for name in pytest_amlimage.__all__}
    # each a class users type against
    assert all(isinstance(value, type) for value in exported.values())
    assert {name for name, value in exported.items() if value.__name__ != name} == {"AmlUsageError"}
    assert exported["AmlUsageError"] is pytest.UsageError  # our name for pytest's usage error


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        pytest_amlimage.Nothing  # noqa: B018


def test_importing_the_package_imports_no_engine_client() -> None:
    code = "import pytest_amlimage, sys; print('docker' in sys.modules, 'requests' in sys.modules)"
    found = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert found.split() == ["False", "False"]
