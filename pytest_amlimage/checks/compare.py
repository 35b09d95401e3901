"""Upgrade regression: an image's environment as a snapshot, the diff of two, and the policies on it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from pytest_amlimage.config.expectations import Expectation
from pytest_amlimage.endpoint import server_changes
from pytest_amlimage.engine.image_info import ImageInfo
from pytest_amlimage.errors import AmlUsageError, CheckFailed
from pytest_amlimage.probe import Facts

WATCHED = ("numpy", "pandas", "torch", "tensorflow", "scikit-learn", "onnxruntime", "xgboost")
FIELDS = ("python", "os", "user", "cuda", "cudnn", "ports")


@dataclass(frozen=True)
class Change:
    kind: str  # added, removed, upgraded, downgraded, changed
    name: str
    old: str | None
    new: str | None


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
        "env": {key: info.env[key] for key in sorted(info.env) if key.startswith(("AZUREML_", "AML_"))},
        "distributions": {name: dist.version for name, dist in sorted(facts.distributions.items())},
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
    changes = [Change("changed", f, str(old.get(f)), str(new.get(f))) for f in FIELDS if old.get(f) != new.get(f)]
    old_env, new_env = old.get("env", {}), new.get("env", {})
    changes += [
        Change("changed", f"env {key}", old_env.get(key), new_env.get(key))
        for key in sorted(set(old_env) | set(new_env))
        if old_env.get(key) != new_env.get(key)
    ]
    before, after = old.get("distributions", {}), new.get("distributions", {})
    for name in sorted(set(before) | set(after)):
        if name not in after:
            changes.append(Change("removed", name, before[name], None))
        elif name not in before:
            changes.append(Change("added", name, None, after[name]))
        else:
            changes += [c for c in [_version_change(name, before[name], after[name])] if c]
    return changes


def _allowed(change: Change, allowances: tuple[Expectation, ...]) -> bool:
    return any(a.name == change.name and change.new and a.satisfied_by(change.new) for a in allowances)


def _major(version: str | None) -> int | None:
    try:
        return Version(version).major if version else None
    except InvalidVersion:
        return None


def no_removed(changes: list[Change], allowed: tuple[str, ...], against: str) -> None:
    found = [c for c in changes if c.kind == "removed" and c.name not in allowed]
    if found:
        lines = "\n".join(f"  {c.name} {c.old}" for c in found)
        raise CheckFailed(f"removed since {against}:\n{lines}\nreinstall them, or allow: --aml-allow-removed NAME")


def no_downgrade(changes: list[Change], allowances: tuple[Expectation, ...], against: str) -> None:
    found = [c for c in changes if c.kind == "downgraded" and not _allowed(c, allowances)]
    if found:
        lines = "\n".join(f"  {c.name} {c.old} -> {c.new}" for c in found)
        raise CheckFailed(f"downgraded since {against}:\n{lines}\npin them back, or allow: --aml-allow 'NAME==VERSION'")


def no_major_bump(changes: list[Change], allowances: tuple[Expectation, ...], against: str) -> None:
    found = [
        c
        for c in changes
        if c.kind == "upgraded" and c.name in WATCHED and _major(c.new) != _major(c.old) and not _allowed(c, allowances)
    ]
    if found:
        lines = "\n".join(f"  {c.name} {c.old} -> {c.new}" for c in found)
        raise CheckFailed(f"major version bumps since {against}:\n{lines}\nallow one: --aml-allow 'NAME>=MAJOR'")


def same_user(old: dict[str, Any], new: dict[str, Any], against: str) -> None:
    if old.get("user") != new.get("user"):
        raise CheckFailed(f"the image user changed since {against}: {old.get('user')} -> {new.get('user')}")
    if "(uid 0)" in str(new.get("user")):
        raise CheckFailed(f"the image runs as root: {new.get('user')}")


def same_cuda_major(old: dict[str, Any], new: dict[str, Any], against: str) -> None:
    found = [f"{k} {old.get(k)} -> {new.get(k)}" for k in ("cuda", "cudnn") if _major(old.get(k)) != _major(new.get(k))]
    if found:
        raise CheckFailed(f"CUDA/cuDNN major changed since {against}: " + "; ".join(found))


def server_breaking_changes(changes: list[Change]) -> list[str]:
    """The inference server's breaking changes crossed between the two versions (upgrading or going back)."""
    moved = next((c for c in changes if c.name == server_changes.package() and c.old and c.new), None)
    if moved is None or moved.old is None or moved.new is None:
        return []
    return server_changes.between(moved.old, moved.new)


def read_lock(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise AmlUsageError(f"lock file {path} cannot be read ({error}): write it with --aml-lock-update") from None
    if not isinstance(data, dict) or "distributions" not in data:
        raise AmlUsageError(f"lock file {path} is not an environment lock: write it with --aml-lock-update")
    return data


def write_lock(path: Path, snap: dict[str, Any]) -> None:
    path.write_text(json.dumps(snap, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def as_json(changes: list[Change]) -> list[dict[str, Any]]:
    return [asdict(change) for change in changes]
