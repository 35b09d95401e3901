"""A batch deployment YAML (batch endpoints): how the platform's batch driver runs the image's scoring script.

Sources are MicrosoftDocs/azure-ai-docs ``articles/machine-learning/``: ``reference-yaml-deployment-batch.md``,
``how-to-batch-scoring-script.md``, ``how-to-use-batch-model-deployments.md`` and ``how-to-mlflow-batch.md``.
A batch deployment is told apart by its ``$schema`` (``batchDeployment.schema.json``,
``modelBatchDeployment.schema.json``) or its batch settings. They sit under ``settings:`` for ``type: model``,
and at the top level in the classic form; both are read, each default the platform's.
"""

from __future__ import annotations

from pathlib import Path

from pytest_amlimage.config import deployment
from pytest_amlimage.config.deployment import BatchSettings
from pytest_amlimage.config.yamlfile import Keys, Table

SCHEMAS = ("batchdeployment.schema.json", "modelbatchdeployment.schema.json")
PIPELINE_SCHEMA = "pipelinecomponentbatchdeployment.schema.json"
SETTING_KEYS = (
    "mini_batch_size",
    "max_concurrency_per_instance",
    "output_action",
    "output_file_name",
    "retry_settings",
    "error_threshold",
    "logging_level",
)
OUTPUT_ACTIONS = ("append_row", "summary_only")
LOGGING_LEVELS = ("debug", "info", "warning", "error", "critical")
KIND: deployment.Kind = "batch deployment"


def is_batch(data: Table) -> bool:
    """A batch deployment: its schema says so, or it has batch settings (under ``settings:`` or at the top)."""
    schema = str(data.get("$schema", "")).lower()
    if any(name in schema for name in (*SCHEMAS, PIPELINE_SCHEMA)):
        return True
    settings = data.get("settings")
    return any(key in data for key in SETTING_KEYS) or (
        isinstance(settings, dict) and any(key in settings for key in SETTING_KEYS)
    )


def read(reader: deployment.Reader, data: Table) -> deployment.Deployment:
    """The batch deployment: its settings, and what the options take from it (image, script, model)."""
    schema = str(data.get("$schema", "")).lower()
    if PIPELINE_SCHEMA in schema or str(data.get("type", "")) == "pipeline":
        raise reader.fail(
            ("type",) if "type" in data else ("$schema",),
            "makes a pipeline component deployment, which runs a pipeline, not a scoring script: "
            "give a model batch deployment (type: model)",
        )
    parts = deployment.parts(reader, data)
    classic = "settings" not in data
    keys: Keys = () if classic else ("settings",)
    table = data if classic else reader.table(data.get("settings"), ("settings",))
    conda = reader.text(parts.environment, ("environment", "conda_file"))
    settings = _settings(
        reader, table, keys, (reader.path.parent / conda).resolve() if conda else None
    )
    variables = reader.variables(table) or reader.variables(data)
    endpoint = deployment.Endpoint(
        source=f"{KIND} {reader.path}",
        environment=variables,
        code=parts.code_folder(reader.path),
        model_name=parts.model_name,
        model_version=parts.model_version,
    )
    options = deployment.options_of(reader, data, parts)
    if "entry_script" not in options and "mlflow_model" not in options:
        raise reader.fail(
            ("code_configuration",),
            "is missing: a batch deployment runs a scoring script (code and scoring_script), unless its "
            "model is a local MLflow model (model.type: mlflow_model), which the platform scores itself",
        )
    # a batch deployment runs on a compute cluster, not an instance type
    options.pop("instance_type", None)
    return deployment.Deployment(
        reader.path, endpoint, options, data, reader.lines, kind=KIND, batch=settings
    )


def _settings(
    reader: deployment.Reader, table: Table, keys: Keys, conda_file: Path | None
) -> BatchSettings:
    default = BatchSettings()
    retry = reader.table(table.get("retry_settings"), (*keys, "retry_settings"))

    def whole(data: Table, key: Keys, low: int, fallback: int) -> int:
        value = data.get(key[-1], fallback)
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise reader.fail(key, f"is {value!r}, not a whole number of at least {low}")
        return value

    action = str(table.get("output_action", default.output_action)).lower()
    if action not in OUTPUT_ACTIONS:
        raise reader.fail(
            (*keys, "output_action"),
            f"is {table['output_action']!r}: the platform takes {' or '.join(OUTPUT_ACTIONS)}",
        )
    level = str(table.get("logging_level", default.logging_level)).lower()
    if level not in LOGGING_LEVELS:
        raise reader.fail((*keys, "logging_level"), f"is {level!r}, not one of {LOGGING_LEVELS}")
    name = reader.text(table, (*keys, "output_file_name")) or default.output_file_name
    found = _lines_under(reader, keys)
    return BatchSettings(
        max_concurrency_per_instance=whole(
            table, (*keys, "max_concurrency_per_instance"), 1, default.max_concurrency_per_instance
        ),
        mini_batch_size=whole(table, (*keys, "mini_batch_size"), 1, default.mini_batch_size),
        output_action=action,
        output_file_name=name,
        error_threshold=whole(table, (*keys, "error_threshold"), -1, default.error_threshold),
        max_retries=whole(retry, (*keys, "retry_settings", "max_retries"), 0, default.max_retries),
        timeout=reader.number(retry, (*keys, "retry_settings", "timeout"), default.timeout),
        logging_level=level,
        conda_file=conda_file,
        lines=found,
    )


def _lines_under(reader: deployment.Reader, keys: Keys) -> dict[str, int]:
    """Each batch setting's line (from 1) by its own name: those under ``keys``, and ``retry_settings``' keys."""
    return {
        path[-1]: line + 1
        for path, line in reader.lines.items()
        if path[: len(keys)] == keys and len(path) > len(keys) and path[len(keys)] in SETTING_KEYS
    }
