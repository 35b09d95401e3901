"""The spec file (``--aml-spec=aml-image.toml``): the options' names without the ``aml_`` prefix.

Schema::

    image = ["myimage:tag"]          # like --aml-image
    curated = "AzureML-minimal-ubuntu18.04-py37-cpu-inference"
    framework = "torch==1.6.*"
    requirements = "requirements.txt"  # paths are relative to the spec file
    entry_script = "code/score.py"
    model_dir = "model"
    sample = ["samples/"]
    ready_timeout = 120

    [expect]                          # like --aml-expect, one key per package
    numpy = "==1.20.1"
    pandas = "~=1.1.x"
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pytest_amlimage.config.options import BY_NAME
from pytest_amlimage.errors import AmlUsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

TABLE_KEYS = {"expect"}
NOT_IN_SPEC = {"spec", "list_curated"}


def load(path: Path, source: str) -> dict[str, Any]:
    """The spec file's values by option name; a usage error for a missing, unreadable or unknown entry."""
    if not path.is_file():
        raise AmlUsageError(f"spec file {path} (from {source}) does not exist: check the path")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise AmlUsageError(
            f"spec file {path} (from {source}) is not valid TOML ({error}): fix the file"
        ) from None
    known = (set(BY_NAME) - NOT_IN_SPEC) | TABLE_KEYS
    for key, value in data.items():
        if key not in known:
            raise AmlUsageError(
                f"spec file {path}: unknown key {key!r}; known keys: {', '.join(sorted(known))}"
            )
        if key == "expect" and not isinstance(value, dict):
            raise AmlUsageError(
                f"spec file {path} key expect {value!r} is not a table: write it as [expect] with a line "
                'per package, e.g. numpy = "==1.20.1"'
            )
    return data
