"""The probe's readings of files, run here on files of our own: credentials in configuration files, and the OS
packages dpkg lists."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amlimage.probe.inimage import credentials, packages

TOKEN = "patVALUEs3cr3t0123456789abcdefghij"


def findings(path: Path) -> list[tuple[str, str, int]]:
    return [(f["what"], f["value"], f["line"]) for f in credentials._scan_file(str(path))[0]]


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


STORAGE_KEY = "k" + "Qx7Rz2Lm9Vb4Nc8Wd1Fe6Gh3Jk5Pq0St" * 2 + "Yz7uVw2Ab=="
CONNECTION = (
    f"DefaultEndpointsProtocol=https;AccountName=teamdata;AccountKey={STORAGE_KEY};"
    "EndpointSuffix=core.windows.net"
)


def test_a_token_in_an_ordinary_text_file_of_the_app_is_found_with_its_line(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "config").mkdir(parents=True)
    (app / "config" / "settings.json").write_text(
        '{\n  "logging": "info",\n  "storage": "' + CONNECTION + '"\n}\n'
    )
    sas = "https://teamdata.blob.core.windows.net/models?sv=2024-11-04&sp=r&sig=Zk9%2Bq7Lm2Vb4Nc8Wd1Fe6Gh3Jk5Pq0St%3D"
    (app / "download.yaml").write_text(f"source: {sas}\n")
    (app / ".env").write_text("GITHUB=ghp_" + "A1b2C3d4E5f6G7h8I9j0" * 2 + "\n")
    found = credentials.scan([(str(app), True)])["findings"]
    assert sorted((Path(f["path"]).name, f["line"], f["what"]) for f in found) == [
        (".env", 1, "a GitHub token"),
        ("download.yaml", 1, "an Azure SAS signature"),
        ("settings.json", 3, "an Azure storage account key"),
    ]
    assert all("***" in f["value"] and STORAGE_KEY not in f["value"] for f in found)


def test_placeholders_published_keys_binaries_and_installed_packages_are_no_findings(
    tmp_path: Path,
) -> None:
    app = tmp_path / "app"
    (app / "lib" / "site-packages" / "sdk").mkdir(parents=True)
    azurite = (
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    )
    (app / "settings.json").write_text(
        '{"a": "AccountKey=<your-storage-key>", "b": "AccountKey=${STORAGE_KEY}",\n'
        f' "dev": "AccountName=devstoreaccount1;AccountKey={azurite}",\n'
        ' "aws": "AKIAIOSFODNN7EXAMPLE", "x": "AccountKey=' + "x" * 88 + '"}\n'
    )
    (app / "model.bin").write_bytes(b"\0\1\2" + CONNECTION.encode())
    (app / "lib" / "site-packages" / "sdk" / "test_keys.py").write_text(f'KEY = "{CONNECTION}"\n')
    (app / "score.py").write_text('key = os.environ["STORAGE_KEY"]  # AccountKey from the env\n')
    assert credentials.scan([(str(app), True)])["findings"] == []


def test_the_model_folder_is_read_too(tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "download.cfg").write_text(f"[blob]\nconnection = {CONNECTION}\n")
    roots = credentials._roots(str(tmp_path / "app"), str(model))
    assert (str(model), True) in roots and ("/etc", False) in roots
    found = credentials.scan([(str(model), True)])["findings"]
    assert [(f["what"], f["line"]) for f in found] == [("an Azure storage account key", 2)]


def test_a_namespace_folder_is_read_only_for_the_distribution_named_as_its_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``azureml/`` holds many distributions' packages: azureml-core's own import of pkg_resources is not
    the dataset runtime's."""
    from pytest_amlimage.probe.inimage import imports

    (tmp_path / "azureml" / "core").mkdir(parents=True)
    (tmp_path / "azureml" / "core" / "__init__.py").write_text("import os\nimport pkg_resources\n")
    monkeypatch.setattr(imports.sys, "path", [str(tmp_path)])
    monkeypatch.setattr(imports, "resolves", lambda name: False)
    dists = {
        name: {"name": name, "version": "1", "top_level": ["azureml"]}
        for name in ("azureml-core", "azureml-dataprep-native")
    }
    found = imports.pkg_resources_users(dists)  # type: ignore[arg-type]
    assert found["importers"] == {"azureml-core": f"{tmp_path}/azureml/core/__init__.py:2"}
