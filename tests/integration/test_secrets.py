"""Credentials teams leave in images, found in the image itself: a feed token set with pip config, a token
given as a build argument, a private key in the app folder; and no false alarm on a clean image."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import expect, run_built

pytestmark = pytest.mark.engine
TOKEN = "patVALUEs3cr3t0123456789abcdefghij"  # 34 characters
KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtestkeymaterialonly\n-----END RSA PRIVATE KEY-----\n"
CERT = "-----BEGIN CERTIFICATE-----\nMIIBpublicmaterial\n-----END CERTIFICATE-----\n"


def built(run_plugin: Any, pytester: pytest.Pytester, base: str, steps: str, *options: str) -> Any:
    return run_built(run_plugin, pytester, f"FROM {base}\n{steps}", *options, "-k", "secrets")


def test_a_feed_token_a_build_argument_and_a_key_are_found_where_they_are(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    (pytester.path / "keys").mkdir()
    (pytester.path / "keys" / "deploy.pem").write_text(KEY)
    steps = (
        "USER root:root\n"
        f"RUN pip config --global set global.extra-index-url https://build:{TOKEN}@pkgs.example/_packaging/f/pypi/simple/\n"
        "ARG FEED_TOKEN\n"
        'RUN test -n "$FEED_TOKEN"\n'
        "COPY keys /var/azureml-app/keys\n"
        "USER dockeruser\n"
    )
    result = built(
        run_plugin, pytester, images["minimal"], steps, f"--aml-build-arg=FEED_TOKEN={TOKEN}"
    )
    expect(result, failed=["secrets", "dockerfile[secrets]"])
    masked = "pat*** (34 characters)"
    result.stdout.fnmatch_lines_random(
        [
            f"*secrets: a URL with credentials {masked} in history step * (Dockerfile:3: RUN)",
            f"the build argument FEED_TOKEN, recorded with its value {masked} in history step * (Dockerfile:5: RUN)",
            f"a URL with credentials in pip configuration {masked} in /etc/pip.conf:2, the value of history step *",
            "a RSA PRIVATE KEY (key material) in /var/azureml-app/keys/deploy.pem:1",
            "fix: pass it as a build secret mounted for one RUN*",
            f"*dockerfile[[]secrets[]]: Dockerfile:3: a URL with credentials {masked} in RUN",
            "Dockerfile:6: COPY keys/deploy.pem: a private key (key material) in the file*",
        ]
    )
    assert TOKEN not in result.stdout.str()


STORAGE_KEY = "Qx7Rz2Lm9Vb4Nc8Wd1Fe6Gh3Jk5Pq0St" * 2 + "Yz7uVw2Ab=="  # 75 characters


def test_a_connection_string_in_a_settings_file_of_the_app_is_found_with_its_line(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """Not a file any tool reads credentials from: an ordinary JSON settings file the scoring script opens."""
    (pytester.path / "config").mkdir()
    (pytester.path / "config" / "settings.json").write_text(
        '{\n  "threshold": 0.5,\n  "storage": "DefaultEndpointsProtocol=https;AccountName=teamdata;'
        f'AccountKey={STORAGE_KEY};EndpointSuffix=core.windows.net"\n}}\n'
    )
    steps = "COPY config /var/azureml-app/config\n"
    result = built(run_plugin, pytester, images["minimal"], steps)
    expect(result, failed=["secrets"])
    result.stdout.fnmatch_lines(
        [
            "*secrets: an Azure storage account key Qx7*** (75 characters) in "
            "/var/azureml-app/config/settings.json:3*"
        ]
    )
    assert STORAGE_KEY not in result.stdout.str()


def test_a_public_certificate_a_feed_without_credentials_and_secret_names_are_green(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    (pytester.path / "ca.pem").write_text(CERT)
    # placeholders, and the storage emulator's published key
    (pytester.path / "settings.json").write_text(
        '{"storage": "AccountKey=<your-storage-key>", "dev": "UseDevelopmentStorage=true", '
        '"emulator": "AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6'
        'IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==", "aws": "AKIAIOSFODNN7EXAMPLE"}\n'
    )
    steps = (
        "USER root:root\n"
        "RUN pip config --global set global.extra-index-url https://pkgs.example/_packaging/f/pypi/simple/\n"
        "COPY settings.json /var/azureml-app/settings.json\n"
        "COPY ca.pem /usr/local/share/ca-certificates/corp.crt\n"
        "ARG API_TOKEN\n"
        "ENV KEY_VAULT_SECRET_NAME=model-key SECRET_NAME=storage-key DB_PASSWORD=\n"
        "COPY ca.pem /var/azureml-app/ca.pem\n"
        "USER dockeruser\n"
    )
    result = built(run_plugin, pytester, images["minimal"], steps)
    expect(result, passed=["secrets", "dockerfile[secrets]"])
