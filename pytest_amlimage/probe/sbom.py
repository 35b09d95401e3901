"""The image's bill of materials as CycloneDX JSON: every Python distribution of the environment that serves,
and the OS packages the package manager lists, each with its package URL; written and validated with
cyclonedx-python-lib (imported only when a bill is asked for)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pytest_amlimage.config.names import file_safe
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Facts
from pytest_amlimage.probe.snapshot import PURL_TYPES

if TYPE_CHECKING:
    from cyclonedx.model.component import Component

    from pytest_amlimage.engine.image_info import ImageInfo


def path_for(given: Path, reference: str, several: bool) -> Path:
    """Where the bill of ``reference`` goes: ``given``, or beside it with the image's name when several are tested."""
    if not several:
        return given
    return given.with_name(f"{given.stem}-{file_safe(reference)}{given.suffix}")


def _python(facts: Facts) -> list[Component]:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    return [
        Component(
            name=dist.name,
            version=dist.version,
            type=ComponentType.LIBRARY,
            purl=PackageURL(type="pypi", name=name, version=dist.version),
            bom_ref=f"pkg:pypi/{name}@{dist.version}",
        )
        for name, dist in sorted(facts.distributions.items())
    ]


def _os(facts: Facts) -> list[Component]:
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    kind = PURL_TYPES.get(str(facts.os_packages.get("manager")))
    release = facts.os_release
    distro = f"{release.get('ID', '')}-{release.get('VERSION_ID', '')}".strip("-")
    found = []
    for name, package in sorted((facts.os_packages.get("packages") or {}).items()):
        qualifiers = {"arch": package.get("arch") or None, "distro": distro or None}
        purl = PackageURL(
            type=kind or "generic",
            namespace=release.get("ID") or None,
            name=name,
            version=package["version"],
            qualifiers={k: v for k, v in qualifiers.items() if v},
        )
        found.append(
            Component(
                name=name,
                version=package["version"],
                type=ComponentType.LIBRARY,
                purl=purl,
                bom_ref=purl.to_string(),
            )
        )
    return found


def write_sbom(path: Path, reference: str, info: ImageInfo, facts: Facts) -> None:
    """Write the image's bill to ``path``; a check failure when the document would not validate."""
    from cyclonedx.model.bom import Bom
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    if facts.python_error:
        raise CheckFailed(
            f"no bill of materials: the probe could not read the image ({facts.python_error})"
        )
    image = Component(
        name=reference,
        version=(info.digests[0] if info.digests else info.id) or None,
        type=ComponentType.CONTAINER,
        bom_ref="image",
    )
    bom = Bom()
    bom.metadata.component = image
    parts = _python(facts) + _os(facts)
    for part in parts:
        bom.components.add(part)
    bom.register_dependency(image, parts)
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise CheckFailed(f"the bill of materials does not validate against CycloneDX 1.6: {error}")
    path.write_text(text + "\n", encoding="utf-8")
