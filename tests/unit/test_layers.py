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
SEAM = ("pytest_amlimage.checks.check",)
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
