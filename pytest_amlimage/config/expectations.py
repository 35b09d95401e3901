"""Version expectations: PEP 440 specifiers, plus the quirks pasted from the Azure ML docs.

Accepted, beyond PEP 440:

- ``numpy=1.20.1``: a single ``=`` means ``==``;
- ``pandas~=1.1.x`` and ``pandas==1.1.x``: a trailing ``.x`` is a wildcard, ``==1.1.*``;
- ``numpy >= 1.16.0``: spaces around operators;
- ``NA`` (or an empty specifier): no expectation at all;
- ``sklearn``: an alias of the distribution ``scikit-learn``; names are normalized (PEP 503).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pytest_amlimage.errors import AmlUsageError

ALIASES = {"sklearn": "scikit-learn", "pytorch": "torch", "tensorflow-cpu": "tensorflow"}
NO_EXPECTATION = {"na", "n/a", "none", "any", "*"}  # a bare name is one: installed, any version
_LINE = re.compile(r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(?P<spec>.*?)\s*$")
_SINGLE_EQUALS = re.compile(r"(?<![=!<>~])=(?!=)")
_WILDCARD = re.compile(r"(~=|==)\s*(?P<prefix>\d+(?:\.\d+)*)\.[xX*]$")


@dataclass(frozen=True)
class Expectation:
    """One package must satisfy ``specifier``; ``source`` says who asked for it."""

    name: str
    specifier: SpecifierSet
    text: str
    source: str

    def satisfied_by(self, version: str) -> bool:
        return satisfies(self.specifier, version)

    @property
    def shown(self) -> str:
        return str(self.specifier) or "any version"


def satisfies(specifier: SpecifierSet, version: str) -> bool:
    """``version`` is in ``specifier`` (pre-releases count); a version PEP 440 cannot read is not."""
    try:
        return specifier.contains(Version(version), prereleases=True)
    except InvalidVersion:
        return False


def distribution_name(name: str) -> str:
    """PEP 503 normalized distribution name, with the documented aliases applied."""
    normalized = canonicalize_name(name)
    return ALIASES.get(normalized, normalized)


def normalize_specifier(text: str) -> str:
    """Rewrite the Azure ML docs' quirks into a PEP 440 specifier set."""
    parts = []
    for part in text.replace(" ", "").split(","):
        part = _SINGLE_EQUALS.sub("==", part, count=1) if part.startswith("=") else part
        part = _WILDCARD.sub(lambda m: f"=={m['prefix']}.*", part)
        if part and part[0].isdigit():
            part = "==" + part
        parts.append(part)
    return ",".join(parts)


def parse_specifier(text: str, source: str, what: str) -> SpecifierSet | None:
    """A specifier set (empty: any version), or None for ``NA``; a usage error naming ``what`` when unparseable."""
    if text.strip().lower() in NO_EXPECTATION:
        return None
    try:
        return SpecifierSet(normalize_specifier(text))
    except InvalidSpecifier:
        raise AmlUsageError(
            f"cannot read the version expectation {what!r} (from {source}): "
            "write NAME followed by PEP 440 specifiers, e.g. 'numpy==1.20.1' or 'pandas~=1.1'"
        ) from None


def parse_expectation(text: str, source: str) -> Expectation | None:
    """Parse ``NAME SPEC`` (``numpy==1.20.1``, ``pandas ~= 1.1.x``); None means no expectation (``NA``)."""
    if text.strip().lower() in NO_EXPECTATION:  # a table cell with nothing in it
        return None
    match = _LINE.match(text)
    if match is None:
        raise AmlUsageError(
            f"cannot read the version expectation {text!r} (from {source}): "
            "write NAME followed by PEP 440 specifiers, e.g. 'numpy==1.20.1'"
        )
    return expectation(match["name"], match["spec"], source, text)


def expectation(name: str, spec: str, source: str, text: str | None = None) -> Expectation | None:
    specifier = parse_specifier(spec, source, text or f"{name} {spec}")
    if specifier is None:
        return None
    return Expectation(distribution_name(name), specifier, text or f"{name}{spec}", source)


def combine(group: list[Expectation]) -> list[Expectation]:
    """Expectations from one source for one package all hold (``numpy>=1.16`` and ``numpy<2``).

    Two different exact pins are a contradiction: a usage error.
    """
    combined: dict[str, Expectation] = {}
    for item in group:
        if item.name not in combined:
            combined[item.name] = item
            continue
        first = combined[item.name]
        pins = {
            s.version for s in (*first.specifier, *item.specifier) if s.operator in ("==", "===")
        }
        if len(pins) > 1:
            raise AmlUsageError(
                f"contradictory expectations for {item.name} from {item.source}: "
                f"{first.shown} and {item.shown}; keep one"
            )
        text = f"{first.text}, {item.text}"
        combined[item.name] = Expectation(
            item.name, first.specifier & item.specifier, text, item.source
        )
    return list(combined.values())


def merge(*groups: list[Expectation]) -> tuple[Expectation, ...]:
    """Later groups win per distribution name; order of first appearance is kept."""
    merged: dict[str, Expectation] = {}
    for group in groups:
        for item in group:
            merged[item.name] = item
    return tuple(merged.values())


def gather(
    spec_table: Mapping[str, object], spec_name: str, ini_lines: list[str], cli_texts: list[str]
) -> tuple[Expectation, ...]:
    """Expectations from every source, merged: the spec file's, then ini's, then the command line's win."""
    spec_items = [
        expectation(name, str(spec), f"spec file {spec_name} key expect.{name}")
        for name, spec in spec_table.items()
    ]
    ini_items = [parse_expectation(line, "ini aml_expect") for line in ini_lines]
    cli_items = [parse_expectation(text, "--aml-expect") for text in cli_texts]
    return merge(
        *(
            combine([e for e in group if e is not None])
            for group in (spec_items, ini_items, cli_items)
        )
    )


BARE_VERSION = re.compile(r"^\s*v?(\d+(?:\.\d+)*)\s*$")


def parse_library_expectation(text: str, source: str, library: str) -> Expectation | None:
    """``none`` (no runtime at all), a PEP 440 specifier (``>=12``, ``==11.0.3``), or a bare version.

    A bare version is a prefix, as image names write them: ``13.0`` means ``==13.0.*`` and so takes
    13.0.2, and ``9.19`` takes 9.19.0.56; ``11.0.3`` still takes 11.0.3 itself.
    """
    if text.strip().lower() == "none":
        return Expectation(library, SpecifierSet(), "none", source)
    bare = BARE_VERSION.match(text)
    specifier = parse_specifier(
        f"=={bare.group(1)}.*" if bare else text, source, f"{library} {text}"
    )
    return None if specifier is None else Expectation(library, specifier, text, source)


def parse_requirements(lines: Iterable[str], source: str) -> list[Requirement]:
    """The requirements of a requirements file's lines (options and comments passed over); a bad line is a
    usage error naming the file and line."""
    found = []
    for number, raw in enumerate(lines, 1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            found.append(Requirement(line))
        except InvalidRequirement as error:
            raise AmlUsageError(
                f"{source}:{number}: cannot read {line!r} ({str(error).splitlines()[0]}): fix the line"
            ) from None
    return found
