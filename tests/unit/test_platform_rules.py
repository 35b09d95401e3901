"""The platform's rules and Microsoft's release gate, each decided from the facts or said undecided."""

from __future__ import annotations

import warnings

import pytest

from pytest_amlimage.checks.platform_rules import platform
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Distribution, Facts

BOOKWORM = {"ID": "debian", "VERSION_ID": "12"}
SCRIPT = "/var/runit/gunicorn/run"
CHAIN = [
    "AZUREML_EXTRA_CONDA_YAML",
    "AZUREML_EXTRA_PYTHON_LIB_PATH",
    "AZUREML_EXTRA_REQUIREMENTS_TXT",
]


def facts(
    python: str = "3.12.3",
    release: dict[str, str] | None = None,
    packages: dict[str, str] | None = None,
    scripts: dict[str, list[str]] | None = None,
) -> Facts:
    given = {
        "pip": "25.3",
        **(packages or {}),
    }  # every environment the probe reads has pip, unless removed
    dists = {name: Distribution(name, version) for name, version in given.items() if version}
    return Facts(
        uid=1000,
        python_version=python,
        os_release=BOOKWORM if release is None else release,
        distributions=dists,
        start_scripts={SCRIPT: CHAIN} if scripts is None else scripts,
    )


def said(
    found: Facts, image: dict[str, str] | None = None, deployment: dict[str, str] | None = None
) -> list[str]:
    """The warnings of a passing platform check."""
    with pytest.warns() as caught:
        platform(found, image_env=image or {}, deployment_env=deployment or {})
    return [str(warning.message) for warning in caught]


def failure(found: Facts) -> str:
    with pytest.raises(CheckFailed) as failed:
        platform(found, image_env={}, deployment_env={})
    return str(failed.value)


def test_a_current_image_passes_in_silence() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would fail the test
        platform(facts(), image_env={}, deployment_env={})
        platform(
            facts(release={"ID": "ubuntu", "VERSION_ID": "22.04"}), image_env={}, deployment_env={}
        )
        platform(facts(packages={"azure-ai-ml": "1.30.0"}), image_env={}, deployment_env={})


def test_python_older_than_3_9_fails_naming_the_server_it_resolves() -> None:
    assert failure(facts(python="3.8.18")).startswith(
        "the serving Python is 3.8.18: azureml-inference-server-http 1.4.0 and later need 3.9"
    )


@pytest.mark.parametrize("version", ["20.04", "18.04"])
def test_an_ubuntu_2004_or_older_base_fails(version: str) -> None:
    found = failure(facts(release={"ID": "ubuntu", "VERSION_ID": version}))
    assert found.startswith(f"the base is Ubuntu {version} (/etc/os-release)")


def test_an_image_without_os_release_is_said_undecided() -> None:
    assert said(facts(release={})) == [
        "platform: the base's release is unknown: the image has no /etc/os-release"
    ]


def test_both_sdks_fail_and_the_v1_sdk_alone_warns() -> None:
    both = facts(packages={"azure-ai-ml": "1.30.0", "azureml-core": "1.60.0"})
    assert failure(both).startswith(
        "azure-ai-ml 1.30.0 and azureml-core 1.60.0 are both in the serving environment"
    )
    (warning,) = said(facts(packages={"azureml-core": "1.60.0"}))
    assert "azureml-core 1.60.0 (the v1 SDK)" in warning and "2026-06-30" in warning


def test_extra_install_variables_warn_and_name_what_the_chain_ignores() -> None:
    (warning,) = said(
        facts(),
        image={"AZUREML_EXTRA_PYTHON_LIB_PATH": "libs"},
        deployment={"AZUREML_EXTRA_REQUIREMENTS_TXT": "requirements.txt"},
    )
    assert warning.startswith(
        "platform: AZUREML_EXTRA_PYTHON_LIB_PATH (in the image), AZUREML_EXTRA_REQUIREMENTS_TXT (by the "
        "deployment): a v1-only preview that installs at every start"
    )
    assert warning.endswith(
        "AZUREML_EXTRA_REQUIREMENTS_TXT is ignored: the start script takes one branch of installs, and "
        "AZUREML_EXTRA_PYTHON_LIB_PATH, set too, comes first"
    )


def test_a_start_script_without_the_chain_makes_them_do_nothing() -> None:
    minimal = facts(scripts={SCRIPT: []})
    (warning,) = said(minimal, deployment={"AZUREML_EXTRA_REQUIREMENTS_TXT": "requirements.txt"})
    assert "does not read them at all (/var/runit/gunicorn/run" in warning


def test_pip_removed_fails_only_where_the_start_needs_it() -> None:
    no_pip = facts(packages={"pip": ""})
    assert "pip" not in no_pip.distributions
    needing = Facts(**{**no_pip.__dict__, "pip_at_start": {SCRIPT: 25}})
    assert failure(needing).startswith(
        f"pip is not in the serving environment, but the start needs it: {SCRIPT}:25 runs pip. Without it "
        "the start script's `pip show azureml-inference-server-http` finds nothing and it stops with exit code "
        "100, although the server is installed"
    )
    with warnings.catch_warnings():  # a start that runs no pip: removing it is no alarm
        warnings.simplefilter("error")
        platform(
            Facts(**{**no_pip.__dict__, "start_scripts": {SCRIPT: []}}),
            image_env={},
            deployment_env={},
        )


def test_setuptools_82_beside_a_pkg_resources_importer_fails_on_the_serving_path_and_warns_elsewhere() -> (
    None
):
    base = facts(packages={"setuptools": "82.0.1", "azureml-core": "1.61.0", "oldtool": "1.0"})
    importers = {
        "azureml-core": "/env/lib/python3.12/site-packages/azureml/core/__init__.py:11",
        "oldtool": "/env/lib/python3.12/site-packages/oldtool/__init__.py:3",
    }
    gone = Facts(**{**base.__dict__, "pkg_resources": {"available": False, "importers": importers}})
    with pytest.warns(pytest.PytestWarning) as caught:
        found = failure(gone)
    assert any("oldtool 1.0 imports pkg_resources as it loads" in str(w.message) for w in caught)
    assert found.startswith(
        "azureml-core 1.61.0 imports pkg_resources as it loads "
        "(/env/lib/python3.12/site-packages/azureml/core/__init__.py:11), but setuptools 82.0.1 has no "
        "pkg_resources (setuptools 82.0.0 removed pkg_resources): importing it fails; upgrade azureml-core to a "
        "release without pkg_resources (azureml-core 1.61.0.post2 and later), or pin setuptools<82"
    )
    # what the entry script imports is on the serving path too
    entry = Facts(**{**gone.__dict__, "entry_script": {"imports": ["oldtool.io"]}})
    base_dists = {
        **gone.distributions,
        "oldtool": Distribution("oldtool", "1.0", top_level=("oldtool",)),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert "oldtool 1.0 imports" in failure(
            Facts(**{**entry.__dict__, "distributions": base_dists})
        )


def test_azureml_core_not_importable_is_named_with_its_error() -> None:
    base = facts(packages={"azureml-core": "1.60.0"})
    broken = Facts(
        **{
            **base.__dict__,
            "imports": {"azureml-core": {"error": "ImportError: cannot import name x"}},
        }
    )
    with pytest.warns(pytest.PytestWarning):  # the v1 SDK's end of support, said as ever
        found = failure(broken)
    assert (
        "azureml-core 1.60.0 is installed but `import azureml.core` fails: ImportError: cannot import name x"
        in found
    )


def test_a_batch_job_needs_azureml_core_and_leaves_its_import_to_batch_env() -> None:
    """No v1-SDK warning (the batch driver needs it), and its import failures are batch-env's, not a second
    failure of the same cause here."""
    base = facts(packages={"setuptools": "82.0.1", "azureml-core": "1.61.0"})
    importers = {"azureml-core": "/env/lib/python3.12/site-packages/azureml/core/__init__.py:11"}
    gone = Facts(
        **{
            **base.__dict__,
            "pkg_resources": {"available": False, "importers": importers},
            "imports": {
                "azureml-core": {"error": "ModuleNotFoundError: No module named 'pkg_resources'"}
            },
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        platform(gone, image_env={}, deployment_env={}, batch=True)
