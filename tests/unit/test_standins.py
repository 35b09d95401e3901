"""The stand-ins' cache key: a hash of what each image is built from, and nothing a run leaves behind."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.integration.conftest import _standins_module

standins = _standins_module()


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    standins._hash_tree(digest, folder)
    return digest.hexdigest()


def test_what_a_run_leaves_in_a_context_is_neither_hashed_nor_built_from(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    (tmp_path / "score.py").write_text("def run(data): return data\n")
    before = tree_hash(tmp_path)
    for left in (".pytest_cache/v/cache/nodeids", "__pycache__/score.cpython-311.pyc"):
        (tmp_path / left).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / left).write_text("[]")
    assert tree_hash(tmp_path) == before
    assert [p.name for p in standins.built_from(tmp_path)] == ["Dockerfile", "score.py"]
    (tmp_path / "score.py").write_text("def run(data): return 1\n")
    assert tree_hash(tmp_path) != before
