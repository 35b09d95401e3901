import pytest

from pytest_amlimage.checks import versions
from pytest_amlimage.checks.user import app_permissions, non_root
from pytest_amlimage.config.expectations import parse_expectation
from pytest_amlimage.errors import AmlUsageError, CheckFailed
from pytest_amlimage.probe import Distribution, Facts

MARKERS = {"python_version": "3.11", "sys_platform": "linux", "python_full_version": "3.11.2"}


def facts(uid: int | None = 1000, **versions: str) -> Facts:
    dists = {name: Distribution(name, version) for name, version in versions.items()}
    return Facts(uid=uid, distributions=dists, markers=MARKERS)


@pytest.mark.parametrize("user", ["", "root", "0", "root:root", "0:0", "root:1000"])
def test_root_users_fail_with_the_fix(user: str) -> None:
    with pytest.raises(
        CheckFailed, match="image runs as root .*add `USER dockeruser` after your root steps"
    ):
        non_root(user, facts())


def test_root_message_quotes_the_config() -> None:
    with pytest.raises(CheckFailed) as failed:
        non_root("root:root", facts())
    assert str(failed.value) == (
        "image runs as root (Config.User is 'root:root'); add `USER dockeruser` after your root steps"
    )


def test_a_name_resolving_to_uid_0_fails() -> None:
    with pytest.raises(CheckFailed, match="'admin' resolves to uid 0"):
        non_root("admin", facts(uid=0))


def test_unknown_uid_fails() -> None:
    with pytest.raises(CheckFailed, match="could not read the uid"):
        non_root("dockeruser", facts(uid=None))


def test_dockeruser_passes() -> None:
    non_root("dockeruser", facts(uid=1001))


def test_version_failure_says_found_expected_and_source() -> None:
    expected = parse_expectation("numpy==1.20.1", "--aml-curated AzureML-pytorch-1.6")
    assert expected is not None
    with pytest.raises(
        CheckFailed,
        match=r"numpy 2\.0\.1 does not satisfy ==1\.20\.1 \(expected by --aml-curated AzureML-pytorch-1\.6\)",
    ):
        versions.version(expected, facts(numpy="2.0.1"))
    with pytest.raises(CheckFailed, match="numpy is not installed"):
        versions.version(expected, facts())
    versions.version(expected, facts(numpy="1.20.1"))


def test_version_without_python_says_why() -> None:
    expected = parse_expectation("numpy==1.20.1", "x")
    assert expected is not None
    with pytest.raises(CheckFailed, match="cannot check numpy: no python"):
        versions.version(expected, Facts(uid=1000, python_error="no python on PATH"))


def test_the_curated_rows_python_serves() -> None:
    versions.python(
        Facts(uid=1000, python_version="3.11.2"),
        expected="3.11",
        source="--aml-curated minimal-py311-inference",
    )
    with pytest.raises(
        CheckFailed,
        match=r"Python 3\.12\.1 serves score\.py \(/opt/env/bin/python\), but "
        r"--aml-curated minimal-py311-inference is Python 3\.11",
    ):
        facts = Facts(uid=1000, python_version="3.12.1", python_executable="/opt/env/bin/python")
        versions.python(facts, expected="3.11", source="--aml-curated minimal-py311-inference")
    with pytest.raises(
        CheckFailed, match=r"^Python 3\.11\.0 serves score\.py, but row is Python 3\.1:"
    ):
        versions.python(Facts(uid=1000, python_version="3.11.0"), expected="3.1", source="row")


def test_framework_must_import_with_a_matching_version() -> None:
    expected = parse_expectation("scikit-learn==1.5.*", "--aml-framework")
    assert expected is not None
    ok = Facts(
        uid=1,
        distributions={"scikit-learn": Distribution("scikit-learn", "1.5.2")},
        frameworks={"sklearn": {"version": "1.5.2"}},
    )
    versions.framework(expected, "sklearn", ok)
    broken = Facts(
        uid=1,
        distributions=ok.distributions,
        frameworks={"sklearn": {"error": "ImportError: libgomp"}},
    )
    with pytest.raises(
        CheckFailed, match="installed but `import sklearn` fails:\nImportError: libgomp"
    ):
        versions.framework(expected, "sklearn", broken)
    shadowed = Facts(
        uid=1, distributions=ok.distributions, frameworks={"sklearn": {"version": "0.24.1"}}
    )
    with pytest.raises(CheckFailed, match="reports 0.24.1"):
        versions.framework(expected, "sklearn", shadowed)


def test_conflicts_like_pip_check() -> None:
    state = Facts(
        uid=1,
        markers=MARKERS,
        distributions={
            "app": Distribution(
                "app",
                "1.0",
                (
                    "numpy<1.20",
                    "missing-pkg>=1",
                    "pandas; python_version < '3'",
                    "extra-only; extra == 'gpu'",
                ),
            ),
            "numpy": Distribution("numpy", "1.26.4"),
        },
        broken_distributions=("no Name in the metadata of /x/broken-1.0.dist-info",),
    )
    assert versions.conflicts(state) == [
        "broken metadata: no Name in the metadata of /x/broken-1.0.dist-info",
        "app 1.0 has requirement numpy<1.20, but you have numpy 1.26.4",
        "app 1.0 requires missing-pkg, which is not installed",
    ]
    with pytest.raises(CheckFailed, match="pip install -r requirements.txt"):
        versions.pip_check(state)


def test_requirements_file_pins_must_hold() -> None:
    lines = [
        "# pins",
        "numpy==1.26.4",
        "pandas>=2  # comment",
        "-r other.txt",
        "",
        "onlylinux; sys_platform == 'win32'",
    ]
    versions.requirements(lines, "requirements.txt", facts(numpy="1.26.4", pandas="2.2.3"))
    with pytest.raises(
        CheckFailed,
        match="requirements.txt has requirement numpy==1.26.4, but you have numpy 2.1.3",
    ):
        versions.requirements(lines, "requirements.txt", facts(numpy="2.1.3", pandas="2.2.3"))
    with pytest.raises(AmlUsageError, match="requirements.txt:1: cannot read"):
        versions.requirements(["numpy=="], "requirements.txt", facts())


def test_app_permissions() -> None:
    good = Facts(
        uid=1000,
        folders={
            "app_root": {
                "path": "/var/azureml-app",
                "exists": True,
                "readable": True,
                "world_writable": [],
            }
        },
    )
    app_permissions(good)
    bad = Facts(
        uid=1000,
        folders={
            "app_root": {
                "path": "/var/azureml-app",
                "exists": True,
                "readable": False,
                "world_writable": ["/var/azureml-app/x"],
            },
            "model_dir": {"path": None, "exists": False},
        },
    )
    with pytest.raises(
        CheckFailed, match="not readable by uid 1000\n/var/azureml-app/x is world-writable"
    ):
        app_permissions(bad)


@pytest.mark.parametrize(("name", "owner"), [("dockeruser", "dockeruser"), (None, "12345")])
def test_runit_folders_the_user_cannot_write_name_the_chown_for_that_user(
    name: str | None, owner: str
) -> None:
    facts = Facts(
        uid=12345,
        user_name=name,
        runtime_folders=[{"path": "/var/runit", "writable": False, "owner": 0}],
    )
    with pytest.raises(CheckFailed, match=f"as root: RUN chown -R {owner} /var/runit"):
        app_permissions(facts)
    app_permissions(facts, runit=False)  # a server started without runsvdir does not need them
