"""The probe's readings of files, run here on files of our own: credentials in configuration files, and the OS
packages dpkg lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amlimage.probe.inimage import credentials, packages

TOKEN = "patVALUEs3cr3t0123456789abcdefghij"


def findings(path: Path) -> list[tuple[str, str, int]]:
    return [(f["what"], f["value"], f["line"]) for f in credentials._scan_file(str(path))]


def test_credentials_in_the_files_their_tools_read(tmp_path: Path) -> None:
    (tmp_path / "pip.conf").write_text(
        f"[global]\nextra-index-url = https://build:{TOKEN}@feed/simple\n"
    )
    (tmp_path / ".npmrc").write_text(f"//registry.example/:_authToken={TOKEN}\n")
    (tmp_path / ".netrc").write_text(f"machine feed login build password {TOKEN}\n")
    (tmp_path / "deploy.pem").write_text(
        "-----BEGIN EC PRIVATE KEY-----\nMHcC\n-----END EC PRIVATE KEY-----\n"
    )
    masked = "pat*** (34 characters)"
    assert findings(tmp_path / "pip.conf") == [
        ("a URL with credentials in pip configuration", masked, 2)
    ]
    assert findings(tmp_path / ".npmrc") == [("_authToken in npm configuration", masked, 1)]
    assert findings(tmp_path / ".netrc") == [("password in netrc", masked, 1)]
    assert findings(tmp_path / "deploy.pem") == [("a EC PRIVATE KEY", "(key material)", 1)]


def test_no_false_alarm_on_public_urls_certificates_and_code(tmp_path: Path) -> None:
    (tmp_path / "pip.conf").write_text("[global]\nindex-url = https://pypi.org/simple\n")
    (tmp_path / "ca.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    )
    (tmp_path / "score.py").write_text('password = os.environ["DB_PASSWORD"]  # read at start\n')
    assert [
        f for name in ("pip.conf", "ca.pem", "score.py") for f in findings(tmp_path / name)
    ] == []


def test_dpkg_lists_installed_packages_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    status = tmp_path / "status"
    status.write_text(
        "Package: python3\nStatus: install ok installed\nArchitecture: amd64\nVersion: 3.11.2-1+b1\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n"
    )
    monkeypatch.setattr(packages, "DPKG", (str(status), str(tmp_path / "status.d")))
    assert packages.os_packages() == {
        "manager": "dpkg",
        "packages": {"python3": {"version": "3.11.2-1+b1", "arch": "amd64"}},
    }
