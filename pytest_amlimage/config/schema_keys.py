"""The keys azure-ai-ml's schemas give each kind of deployment YAML, and the ones they require
(``deployment_keys.json``, written from azure-ai-ml by ``scripts/deployment_keys.py``; the parity test proves
they agree). ``az ml`` loads with those schemas: any other key is "Unknown field.", a missing required one
"Missing data for required field."."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources

from pytest_amlimage.config.deployment import Deployment, is_kubernetes
from pytest_amlimage.config.yamlfile import Keys


@dataclass(frozen=True)
class SchemaKeys:
    keys: dict[Keys, tuple[str, ...]]  # the mapping's path (() is the top) -> the keys it takes
    required: tuple[str, ...]  # at the top


@functools.cache
def _all() -> dict[str, SchemaKeys]:
    text = resources.files(__package__).joinpath("deployment_keys.json").read_text()
    kinds = json.loads(text)["kinds"]
    return {
        kind: SchemaKeys(
            {
                tuple(path.split(".")) if path else (): tuple(keys)
                for path, keys in found["keys"].items()
            },
            tuple(found["required"]),
        )
        for kind, found in kinds.items()
    }


def schema_kind(found: Deployment) -> str:
    """The schema azure-ai-ml reads this YAML with."""
    if found.kind == "deployment template":
        return "template"
    if found.kind == "batch deployment":
        return "model_batch" if "settings" in found.data else "batch"
    return "kubernetes" if is_kubernetes(found.data) else "managed"


def of(found: Deployment) -> SchemaKeys:
    return _all()[schema_kind(found)]
