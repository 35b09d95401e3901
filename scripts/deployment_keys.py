"""Write ``pytest_amlimage/config/deployment_keys.json``: the keys each kind of deployment YAML takes, and the
ones it requires, read from azure-ai-ml's own schemas (the loader ``az ml`` uses). The plugin reads the file, not
azure-ai-ml (a test-only dependency); ``tests/unit/test_deployment_parity.py`` proves the two agree.

Run ``python scripts/deployment_keys.py`` after upgrading azure-ai-ml, in an environment with the test extras.
"""

from __future__ import annotations

import json
import sys
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any

TARGET = Path(__file__).resolve().parents[1] / "pytest_amlimage" / "config" / "deployment_keys.json"
DEPTH = 2  # top-level keys and those of the mappings under them (probes, request_settings, settings, ...)


def schemas() -> dict[str, Any]:
    """Each kind the plugin reads, by the schema azure-ai-ml loads it with."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from azure.ai.ml._schema._deployment.batch.batch_deployment import BatchDeploymentSchema
        from azure.ai.ml._schema._deployment.batch.model_batch_deployment import (
            ModelBatchDeploymentSchema,
        )
        from azure.ai.ml._schema._deployment.online.online_deployment import (
            KubernetesOnlineDeploymentSchema,
            ManagedOnlineDeploymentSchema,
        )
        from azure.ai.ml._schema._deployment.template.deployment_template import (
            DeploymentTemplateSchema,
        )
    return {
        "managed": ManagedOnlineDeploymentSchema,
        "kubernetes": KubernetesOnlineDeploymentSchema,
        "batch": BatchDeploymentSchema,
        "model_batch": ModelBatchDeploymentSchema,
        "template": DeploymentTemplateSchema,
    }


def _keys(schema: Any, prefix: str, depth: int, into: dict[str, list[str]]) -> None:
    """The schema's keys as a YAML spells them (a field's ``data_key``), and those of each single nested
    schema below it; a field that takes several shapes (a name or a mapping) is not followed."""
    fields = schema(context={"base_path": "."}).fields
    into[prefix] = sorted(field.data_key or name for name, field in fields.items())
    if depth <= 1:
        return
    for name, field in fields.items():
        nested = getattr(field, "nested", None)
        if isinstance(nested, type):
            _keys(nested, f"{prefix}.{name}" if prefix else name, depth - 1, into)


def read() -> dict[str, Any]:
    kinds: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for kind, schema in schemas().items():
            keys: dict[str, list[str]] = {}
            _keys(schema, "", DEPTH, keys)
            required = schema(context={"base_path": "."}).fields.items()
            kinds[kind] = {
                "required": sorted(f.data_key or name for name, f in required if f.required),
                "keys": keys,
            }
    return {
        "about": (
            "The keys each kind of deployment YAML takes (by the mapping they sit in; '' is the top level) and "
            "those it requires, read from azure-ai-ml's schemas by scripts/deployment_keys.py: azure-ai-ml "
            "refuses any other key ('Unknown field.') and a missing required one ('Missing data for required "
            "field.'), and so does az ml, which loads with it."
        ),
        "azure_ai_ml": metadata.version("azure-ai-ml"),
        "kinds": kinds,
    }


if __name__ == "__main__":
    TARGET.write_text(json.dumps(read(), indent=1, sort_keys=True) + "\n")
    sys.stdout.write(f"wrote {TARGET}\n")
