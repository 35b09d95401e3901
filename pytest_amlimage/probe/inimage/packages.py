"""The OS packages the package manager lists (a part of the probe script; in the image, Python 3.7+).

dpkg's status file (Debian, Ubuntu; a distroless image's ``status.d`` too) and apk's database (Alpine):
read as files, so no package manager needs to run. Other managers (rpm) are named, not read.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..shapes import OsPackageDoc, OsPackagesDoc


DPKG = ("/var/lib/dpkg/status", "/var/lib/dpkg/status.d")
APK = "/lib/apk/db/installed"


def _stanzas(text: str) -> list[dict[str, str]]:
    found = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition(":")
            if sep and not line[:1].isspace():
                fields[key] = value.strip()
        if fields:
            found.append(fields)
    return found


def _read(path: str) -> str:
    try:
        with open(path, errors="replace") as handle:
            return handle.read()
    except OSError:
        return ""


def _dpkg() -> dict[str, OsPackageDoc]:
    status, folder = DPKG
    parts = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    texts = [_read(status)] + [_read(os.path.join(folder, name)) for name in parts]
    return {
        fields["Package"]: {
            "version": fields.get("Version", ""),
            "arch": fields.get("Architecture", ""),
        }
        for text in texts
        for fields in _stanzas(text)
        if "Package" in fields
        and fields.get("Status", "install ok installed").endswith(" installed")
    }


def _apk() -> dict[str, OsPackageDoc]:
    found: dict[str, OsPackageDoc] = {}
    name = None
    for line in _read(APK).splitlines():
        if line.startswith("P:"):
            name = line[2:]
        elif line.startswith("V:") and name:
            found[name] = {"version": line[2:], "arch": ""}
    return found


def os_packages() -> OsPackagesDoc:
    """{"manager": dpkg|apk|rpm|None, "packages": {name: {version, arch}}} of the image."""
    if os.path.exists(DPKG[0]) or os.path.isdir(DPKG[1]):
        return {"manager": "dpkg", "packages": _dpkg()}
    if os.path.exists(APK):
        return {"manager": "apk", "packages": _apk()}
    rpm = os.path.isdir("/var/lib/rpm")
    return {"manager": "rpm" if rpm else None, "packages": {}}
