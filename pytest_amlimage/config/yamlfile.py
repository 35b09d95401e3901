"""A YAML file read with the line of every key, so that each error (ours or a check's) names file and line.

The one reader of YAML in the package: the deployment YAML and an MLflow model's ``MLmodel`` both go
through it. Values are ``object`` until a reader narrows them; a mapping is ``Table``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pytest_amlimage.errors import AmlUsageError

Table = dict[str, object]  # a YAML mapping, its values not yet narrowed
Keys = tuple[str, ...]  # a key's path from the top, e.g. ("request_settings", "request_timeout_ms")


@dataclass(frozen=True)
class YamlFile:
    """The parsed document and the line of each key (from 0, by its path of keys)."""

    path: Path
    data: object
    lines: dict[Keys, int] = field(default_factory=dict)

    def line(self, *keys: str) -> int:
        """The line (from 1) of the key at ``keys``, else of the nearest key above it, else 1."""
        for depth in range(len(keys), 0, -1):
            if keys[:depth] in self.lines:
                return self.lines[keys[:depth]] + 1
        return 1


def read(path: Path, source: str, what: str) -> YamlFile:
    """``path`` (given by ``source``) as YAML; a usage error naming the line where it is not YAML.

    ``what``: the file's role in the fix the error asks for, e.g. "the deployment YAML".
    """
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise AmlUsageError(f"{path} (from {source}): cannot read {what} ({error})") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.context_mark or error.problem_mark  # where the construct began, when known
        line = f":{mark.line + 1}" if mark else ""
        raise AmlUsageError(
            f"{path}{line} (from {source}): not valid YAML ({error.problem}): fix {what}"
        ) from None
    except yaml.YAMLError as error:
        raise AmlUsageError(
            f"{path} (from {source}): not valid YAML ({error}): fix {what}"
        ) from None
    lines: dict[Keys, int] = {}
    _key_lines(node, (), lines)
    return YamlFile(path, data, lines)


def _key_lines(node: object, keys: Keys, lines: dict[Keys, int]) -> None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return
    for key, value in node.value:
        lines[(*keys, str(key.value))] = key.start_mark.line
        _key_lines(value, (*keys, str(key.value)), lines)
