"""Credentials the image carries, read from its history, configuration and files, and from a Dockerfile:
each with where it is, the value masked and the fix; no false alarm on names, public URLs or certificates."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amlimage.checks.secrets import in_config, in_dockerfile, in_files, in_history, secrets
from pytest_amlimage.engine.dockerfile import parse
from pytest_amlimage.errors import CheckFailed

TOKEN = "s3cr3tt0k3nVALUEabcdef1234567890"
BASE = ("/bin/sh -c #(nop) ADD file:0a1b in / ", '/bin/sh -c #(nop)  CMD ["bash"]')


def test_a_url_with_credentials_in_a_run_line_names_its_step() -> None:
    history = (
        *BASE,
        f"/bin/sh -c pip config set global.index-url https://build:{TOKEN}@pkgs.dev.azure.com/o/_packaging/f/pypi/simple/",
    )
    (found,) = in_history(history)
    assert found.startswith(
        "a URL with credentials s3c*** (32 characters) in history step 3 (/bin/sh -c pip config set"
    )
    assert TOKEN not in found and "https://***@pkgs.dev.azure.com" in found


def test_a_build_argument_recorded_with_a_step_is_found_but_its_reference_in_the_line_is_not() -> (
    None
):
    step = f"|1 PIP_TOKEN={TOKEN} /bin/sh -c pip install --extra-index-url https://build:${{PIP_TOKEN}}@feed/simple x"
    (found,) = in_history((*BASE, step))
    assert found.startswith(
        "the build argument PIP_TOKEN, recorded with its value s3c*** (32 characters) in history step 3"
    )


def test_a_recorded_argument_without_a_secret_name_or_value_is_not_a_finding() -> None:
    assert in_history((*BASE, "|2 BASE_IMAGE=x:1 PIP_TOKEN= /bin/sh -c pip install numpy")) == []


def test_configuration_names_with_values_and_values_with_credentials() -> None:
    env = {
        "STORAGE_ACCOUNT_KEY": "abc",
        "SECRET_NAME": "model-key",  # a name, not a value: no finding
        "DB_PASSWORD": "",
        "GPG_KEY": "7169605F62C751356D054A26821A82D5",
        "FEED": f"https://user:{TOKEN}@feed.example/simple",
        "PUBLIC_FEED": "https://pypi.org/simple",
    }
    found = in_config(env)
    assert len(found) == 2
    assert found[0].startswith(
        "STORAGE_ACCOUNT_KEY looks like a secret baked into the image's configuration"
    )
    assert (
        found[1]
        == "a URL with credentials s3c*** (32 characters) in the image's configuration (ENV FEED)"
    )


def test_files_name_the_step_that_wrote_them() -> None:
    credentials = {
        "findings": [
            {
                "path": "/etc/pip.conf",
                "line": 2,
                "what": "a URL with credentials in pip configuration",
                "value": "s3c***",
            }
        ]
    }
    history = (*BASE, "/bin/sh -c echo x > /etc/pip.conf && pip install y")
    assert in_files(credentials, history) == [
        "a URL with credentials in pip configuration s3c*** in /etc/pip.conf:2, written by history step 3"
    ]


def test_a_clean_image_passes_and_a_finding_fails_with_the_fix() -> None:
    secrets({"PIP_INDEX_URL": "https://pypi.org/simple"}, BASE, {"findings": []})
    with pytest.raises(
        CheckFailed,
        match=r"^a URL with credentials ghp\*\*\* \(40 characters\) in history step 3 [^\n]*\nfix: ",
    ):
        secrets({}, (*BASE, "/bin/sh -c git clone https://ghp_" + "a" * 36 + "@github.com/o/r"), {})


def test_the_dockerfile_rules_name_lines_and_read_the_files_it_copies(tmp_path: Path) -> None:
    (tmp_path / "pip.conf").write_text(
        f"[global]\nextra-index-url = https://u:{TOKEN}@feed/simple\n"
    )
    (tmp_path / "public.conf").write_text("[global]\nindex-url = https://pypi.org/simple\n")
    (tmp_path / "ca.pem").write_text(
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    )
    (tmp_path / "Dockerfile").write_text(
        "FROM base:1\nARG PIP_TOKEN\nARG FEED_TOKEN=abc123\nCOPY pip.conf /etc/pip.conf\n"
        "COPY public.conf ca.pem /etc/\nENV SECRET_NAME=model-key\n"
        "RUN pip install --extra-index-url https://u:${PIP_TOKEN}@feed/simple x\n"
    )
    with pytest.raises(CheckFailed) as failed:
        in_dockerfile(parse(tmp_path / "Dockerfile", tmp_path, {}))
    lines = str(failed.value).splitlines()
    assert lines[0] == "Dockerfile:3: ARG FEED_TOKEN has a value: the image keeps it"
    assert lines[1].startswith(
        "Dockerfile:4: COPY pip.conf: a URL with credentials s3c*** (32 characters) in the file"
    )
    assert lines[2].startswith("fix: ")
