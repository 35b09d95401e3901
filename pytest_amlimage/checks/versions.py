"""The version checks: the interpreter and the packages that serve, against the expectations.

Each raises ``CheckFailed`` with what was found, what was expected, where the
expectation came from, and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.markers import InvalidMarker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from pytest_amlimage.checks.check import require_python
from pytest_amlimage.config.expectations import Expectation, parse_requirements, satisfies
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Facts


def python(facts: Facts, *, expected: str, source: str) -> None:
    """The interpreter that serves score.py is the curated environment's Python (``3.11``: any 3.11.x)."""
    require_python(facts, f"Python {expected}")
    found = facts.python_version or "?"
    if found != expected and not found.startswith(expected + "."):
        where = f" ({facts.python_executable})" if facts.python_executable else ""
        raise CheckFailed(
            f"Python {found} serves score.py{where}, but {source} is Python {expected}: "
            "install your packages into the environment the base image serves from, not a new one"
        )


def version(expected: Expectation, facts: Facts) -> None:
    """An installed distribution satisfies a version expectation."""
    require_python(facts, expected.name)
    found = facts.version_of(expected.name)
    origin = f"expected by {expected.source}"
    if found is None:
        raise CheckFailed(
            f"{expected.name} is not installed; {expected.shown} {origin}: install it in the image"
        )
    if not expected.satisfied_by(found):
        raise CheckFailed(
            f"{expected.name} {found} does not satisfy {expected.shown} ({origin}); "
            "pin it in the requirements your Dockerfile installs"
        )
    imported = facts.imports.get(expected.name, {})
    if "error" in imported:
        raise CheckFailed(
            f"{expected.name} {found} is installed but `import {imported.get('module')}` fails in the interpreter "
            f"that serves ({facts.python_executable}): {imported['error']}\n"
            "reinstall it in that environment together with what it was built against, in one pip install"
        )


def framework(expected: Expectation, module: str, facts: Facts) -> None:
    """The framework's distribution matches, its module imports, and the import reports a matching version."""
    version(expected, facts)
    result = facts.frameworks.get(module)
    if result is None:
        raise CheckFailed(f"{expected.name} is installed but the probe did not import {module}")
    if "error" in result:
        raise CheckFailed(
            f"{expected.name} is installed but `import {module}` fails:\n{result['error']}"
        )
    imported = str(result.get("version") or "")
    if imported and not expected.satisfied_by(imported):
        raise CheckFailed(
            f"`import {module}` reports {imported}, which does not satisfy {expected.shown} "
            f"(expected by {expected.source}); another copy of {module} shadows the installed one"
        )


def _unsatisfied(requirement: Requirement, facts: Facts, owner: str) -> str | None:
    found = facts.version_of(canonicalize_name(requirement.name))
    if found is None:
        return f"{owner} requires {requirement.name}, which is not installed"
    ok = satisfies(requirement.specifier, found)
    return (
        None
        if ok
        else f"{owner} has requirement {requirement}, but you have {requirement.name} {found}"
    )


def _applies(requirement: Requirement, facts: Facts) -> bool:
    if requirement.marker is None:
        return True
    try:
        return requirement.marker.evaluate({**facts.markers, "extra": ""})
    except (InvalidMarker, KeyError, ValueError):
        return True


def conflicts(facts: Facts) -> list[str]:
    """Like `pip check`: installed distributions whose own requirements are not met."""
    problems = [f"broken metadata: {error}" for error in facts.broken_distributions]
    for dist in sorted(facts.distributions.values(), key=lambda d: d.name.lower()):
        for text in dist.requires:
            try:
                requirement = Requirement(text)
            except InvalidRequirement:
                continue
            if _applies(requirement, facts):
                problems.append(
                    _unsatisfied(requirement, facts, f"{dist.name} {dist.version}") or ""
                )
    return [problem for problem in problems if problem]


def pip_check(facts: Facts) -> None:
    require_python(facts, "installed requirements")
    problems = conflicts(facts)
    if problems:
        raise CheckFailed(
            "\n".join(problems)
            + "\nthe usual cause is `pip install -r requirements.txt` on top of the base image: "
            "pin versions compatible with what the image already has"
        )


def requirements(lines: Iterable[str], source: str, facts: Facts) -> None:
    """Every requirement in a requirements file holds in the image (pip may have resolved otherwise)."""
    require_python(facts, source)
    problems = []
    for requirement in parse_requirements(lines, source):
        if _applies(requirement, facts):
            problems.append(_unsatisfied(requirement, facts, source) or "")
    if any(problems):
        raise CheckFailed(
            "\n".join(p for p in problems if p) + "\nrebuild the image, or fix the pins"
        )


def undetected(reference: str) -> None:
    """--aml-curated auto found no row: say how it looked, and how to name one."""
    raise CheckFailed(
        f"--aml-curated auto: cannot tell which curated image {reference} was built from "
        "(no org.opencontainers.image.base.name label, no /IMAGE_INFORMATION naming one, and no local "
        "catalog image is its base); "
        "name it: --aml-curated NAME (see pytest --aml-list-curated)"
    )
