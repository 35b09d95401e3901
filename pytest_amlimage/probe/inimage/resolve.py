"""Does an import resolve, as ``import a.b.c`` would find it, without running any package's code?

Part of the in-image probe (standard library, Python 3.7+). A top-level name that resolves proves
little when it is a namespace shared by many distributions (``azureml``: the server, azureml-core,
azureml-ai-monitoring): the walk goes down such packages to the module named. A package whose own
code may provide its submodules ends the walk: that import is taken to resolve.
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import os
import sys
from typing import Any

NAMESPACE_CALLS = ("extend_path", "declare_namespace")


def resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
        for depth in range(1, len(parts)):
            if spec is None:
                return False
            locations = _namespace_locations(spec, parts[:depth])
            if locations is None:
                return True
            spec = importlib.machinery.PathFinder.find_spec(".".join(parts[: depth + 1]), locations)
    except (ImportError, ValueError):
        return False
    return spec is not None


def _namespace_locations(spec: Any, parts: list[str]) -> list[str] | None:
    """Where a package's submodules can only be files; None for a module, or a package running code of its own."""
    if spec.submodule_search_locations is None:
        return None
    if spec.origin not in (None, "namespace") and not _namespace_init(spec.origin):
        return None
    roots = [entry or os.getcwd() for entry in sys.path]
    spread = [os.path.join(root, *parts) for root in roots]  # pkgutil.extend_path's reach
    return list(
        dict.fromkeys([*spec.submodule_search_locations, *(p for p in spread if os.path.isdir(p))])
    )


def _namespace_init(origin: str) -> bool:
    """An ``__init__.py`` with nothing but a docstring, comments, and extending its path."""
    try:
        with open(origin, encoding="utf-8") as handle:
            tree = ast.parse(handle.read())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return False
    for node in tree.body:
        text = (
            getattr(node.value, "value", getattr(node.value, "s", None))
            if isinstance(node, ast.Expr)
            else None
        )
        docstring = isinstance(text, str)  # ast.Constant, or Python 3.7's ast.Str
        extends = any(call in ast.dump(node) for call in NAMESPACE_CALLS)
        if not (docstring or extends or _imports_only(node, ("pkgutil", "pkg_resources"))):
            return False
    return True


def _imports_only(node: ast.stmt, modules: tuple[str, ...]) -> bool:
    if isinstance(node, ast.Import):
        return all(alias.name in modules for alias in node.names)
    return isinstance(node, ast.ImportFrom) and node.module in modules
