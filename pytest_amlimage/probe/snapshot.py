"""An image's environment as a snapshot (the lock file's content), and the changes between two."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.errors import AmlUsageError
from pytest_amlimage.probe import Facts

FIELDS = ("python", "os", "user", "cuda", "cudnn", "ports")


PURL_TYPES = {
    "dpkg": "deb",
    "apk": "apk",
    "rpm": "rpm",
}  # a package manager's packages, as package URLs type them


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, upgraded, downgraded, changed
    name: str
    old: str | None
    new: str | None
    ecosystem: str = "pypi"  # or the OS packages' ("deb", "apk")

    @property
    def shown(self) -> str:
        return self.name if self.ecosystem == "pypi" else f"{self.name} ({self.ecosystem})"


def snapshot(facts: Facts, info: ImageInfo, cuda: str | None, cudnn: str | None) -> dict[str, Any]:
    """A stable, sorted description of an image's environment (the lock file's content)."""
    known_user = facts.python_error is None
    return {
        "python": facts.python_version,
        "os": facts.os_release.get("PRETTY_NAME"),
        "user": f"{facts.user_name} (uid {facts.uid})" if known_user else None,
        "cuda": cuda,
        "cudnn": cudnn,
        "ports": ",".join(info.exposed_ports) or None,
        "env": {
            key: info.env[key] for key in sorted(info.env) if key.startswith(("AZUREML_", "AML_"))
        },
        "distributions": {name: dist.version for name, dist in sorted(facts.distributions.items())},
        "os_packages": {
            name: found["version"]
            for name, found in sorted((facts.os_packages.get("packages") or {}).items())
        },
        "os_package_type": PURL_TYPES.get(str(facts.os_packages.get("manager"))),
    }


def _version_change(name: str, old: str, new: str) -> Change | None:
    if old == new:
        return None
    try:
        newer = Version(new) > Version(old)
    except InvalidVersion:
        return Change("changed", name, old, new)
    return Change("upgraded" if newer else "downgraded", name, old, new)


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes = [
        Change("changed", f, str(old.get(f)), str(new.get(f)))
        for f in FIELDS
        if old.get(f) != new.get(f)
    ]
    old_env, new_env = old.get("env", {}), new.get("env", {})
    changes += [
        Change("changed", f"env {key}", old_env.get(key), new_env.get(key))
        for key in sorted(set(old_env) | set(new_env))
        if old_env.get(key) != new_env.get(key)
    ]
    changes += _packages(old.get("distributions", {}), new.get("distributions", {}), "pypi")
    # a lock written before they were kept has none
    if "os_packages" in old and "os_packages" in new:
        ecosystem = str(new.get("os_package_type") or old.get("os_package_type") or "os")
        changes += _packages(old["os_packages"], new["os_packages"], ecosystem)
    return changes


def _packages(before: dict[str, str], after: dict[str, str], ecosystem: str) -> list[Change]:
    changes = []
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(Change("removed", name, before[name], None, ecosystem))
        elif name not in before:
            changes.append(Change("added", name, None, after[name], ecosystem))
        else:
            found = _version_change(name, before[name], after[name])
            changes += [dataclasses.replace(found, ecosystem=ecosystem)] if found else []
    return changes


def read_lock(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AmlUsageError(
            f"lock file {path} cannot be read ({error}): write it with --aml-lock-update"
        ) from None
    if not isinstance(data, dict) or "distributions" not in data:
        raise AmlUsageError(
            f"lock file {path} is not an environment lock: write it with --aml-lock-update"
        )
    return data


def write_lock(path: Path, snap: dict[str, Any]) -> None:
    path.write_text(json.dumps(snap, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def as_json(changes: list[Change]) -> list[dict[str, Any]]:
    return [{**asdict(change), "shown": change.shown} for change in changes]
