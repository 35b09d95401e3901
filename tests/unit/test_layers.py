"""The package's folders are its layers, and a module imports only from its own layer or the ones below."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "pytest_amlimage"
# bottom to top
LAYERS = (
    "errors",
    "masking",
    "config",
    "engine",
    "probe",
    "endpoint",
    "checks",
    "run",
    "plugin",
)
TOP_LEVEL = {"__init__"}  # the public names: re-exported from any layer
# what a check is and gives back: every family and the run use it
SEAM = ("pytest_amlimage.checks.check", "pytest_amlimage.checks.image_under_test")
ASSEMBLER = "pytest_amlimage.checks.assemble"


def layer_of(module: str) -> str:
    """``pytest_amlimage.checks.scoring`` -> ``checks``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def imported(package: str, source: str) -> list[tuple[int, str]]:
    """The package modules ``source`` imports (also inside functions and TYPE_CHECKING blocks), with their lines.

    ``package``: the package the module is in, which its relative imports start from.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            found += [
                (node.lineno, f"{base}.{alias.name}" if base.count(".") < 1 else base)
                for alias in node.names
            ]
    return [(line, name) for line, name in found if name.split(".")[0] == "pytest_amlimage"]


def modules() -> list[Path]:
    """Every host-side module; ``probe/inimage/`` runs inside the image and imports only its siblings."""
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "inimage" not in p.parts]


def violations(module: str, source: str, is_package: bool = False) -> list[str]:
    own = layer_of(module)
    if own in TOP_LEVEL:
        return []
    rank = LAYERS.index(own)
    package = module if is_package else module.rpartition(".")[0]
    return [
        f"{module}:{line} imports {name} ({layer_of(name)} is above {own})"
        for line, name in imported(package, source)
        if layer_of(name) not in TOP_LEVEL and LAYERS.index(layer_of(name)) > rank
    ]


def family_violations(module: str, source: str) -> list[str]:
    """The two rules of the checks family: the run reaches check families only through the assembler, and a
    family module imports only the seam of its siblings."""
    if layer_of(module) not in ("run", "checks") or module in (*SEAM, ASSEMBLER):
        return []
    allowed = (*SEAM, ASSEMBLER) if layer_of(module) == "run" else SEAM
    return [
        f"{module}:{line} imports {name} (only {' or '.join(allowed)} of checks/)"
        for line, name in imported(module.rpartition(".")[0], source)
        if layer_of(name) == "checks" and not name.startswith(allowed)
    ]


def test_the_run_and_the_families_reach_checks_only_through_the_seam() -> None:
    found = [
        problem
        for path in modules()
        for problem in family_violations(module_name(path), path.read_text())
    ]
    assert found == []


def test_the_family_rules_see_a_sideways_import() -> None:
    run = "from pytest_amlimage.checks.base_age import Base\nfrom pytest_amlimage.checks.assemble import Context\n"
    family = "from pytest_amlimage.checks.versions import x\nfrom pytest_amlimage.checks.check import Check\n"
    assert [p.split(" (")[0] for p in family_violations("pytest_amlimage.run.image", run)] == [
        "pytest_amlimage.run.image:1 imports pytest_amlimage.checks.base_age"
    ]
    assert [
        p.split(" (")[0] for p in family_violations("pytest_amlimage.checks.server", family)
    ] == ["pytest_amlimage.checks.server:1 imports pytest_amlimage.checks.versions"]


def test_every_module_belongs_to_a_layer() -> None:
    entries = {
        p.stem for p in PACKAGE.iterdir() if p.suffix == ".py" or (p / "__init__.py").exists()
    }
    assert entries - TOP_LEVEL == set(LAYERS)


def test_imports_only_go_down() -> None:
    found = [
        problem
        for path in modules()
        for problem in violations(module_name(path), path.read_text(), path.name == "__init__.py")
    ]
    assert found == []


def test_the_test_sees_an_import_from_above() -> None:
    """The rule itself: a config module importing the run and checks layers is reported, its own layer is not."""
    source = (
        "from pytest_amlimage.run.session import AmlSession\n"
        "from ..checks import scoring\n"
        "from . import options\n"
        "from pytest_amlimage import errors\n"
        "def late() -> None:\n"
        "    from pytest_amlimage.endpoint import samples\n"
    )
    assert [p.split(" imports ")[1] for p in violations("pytest_amlimage.config.bad", source)] == [
        "pytest_amlimage.run.session (run is above config)",
        "pytest_amlimage.checks (checks is above config)",
        "pytest_amlimage.endpoint (endpoint is above config)",
    ]


def module_graph(sources: dict[str, tuple[str, bool]]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (also inside functions and TYPE_CHECKING blocks): ``from
    pytest_amlimage.config import deployment`` is the module ``config.deployment``, not the folder."""
    graph: dict[str, set[str]] = {}
    for module, (source, is_package) in sources.items():
        package = module if is_package else module.rpartition(".")[0]
        named: set[str] = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                named |= {f"{base}.{alias.name}" for alias in node.names} | {base}
            elif isinstance(node, ast.Import):
                named |= {alias.name for alias in node.names}
        graph[module] = {found for found in named if found in sources and found != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle between modules once, as the path that closes it (``a -> b -> a``)."""
    found: list[list[str]] = []
    seen: set[str] = set()

    def walk(module: str, path: list[str]) -> None:
        for child in sorted(graph.get(module, ())):
            if child in path:
                cycle = [*path[path.index(child) :], child]
                if frozenset(cycle) not in {frozenset(c) for c in found}:
                    found.append(cycle)
            elif child not in seen:
                walk(child, [*path, child])
        seen.add(module)

    for module in sorted(graph):
        if module not in seen:
            walk(module, [module])
    return found


def package_sources() -> dict[str, tuple[str, bool]]:
    """Every host-side module but the package's own ``__init__`` (it re-exports from every layer)."""
    return {
        module_name(path).removesuffix(".__init__"): (path.read_text(), path.name == "__init__.py")
        for path in modules()
        if path != PACKAGE / "__init__.py"
    }


def test_no_module_imports_itself_through_others() -> None:
    assert cycles(module_graph(package_sources())) == []


def test_the_cycle_test_finds_a_planted_cycle() -> None:
    """A circle like the one the folder rule missed: a base module's function imports a module that imports
    the base."""
    sources = package_sources()
    base = "pytest_amlimage.config.deployment"
    planted = (
        sources[base][0] + "\n\ndef late() -> None:\n    from pytest_amlimage.config import batch\n"
    )
    sources[base] = (planted, False)
    found = cycles(module_graph(sources))
    assert any(set(cycle) == {base, "pytest_amlimage.config.batch"} for cycle in found), found
