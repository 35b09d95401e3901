import pytest

from pytest_amlimage.checks import baseline
from pytest_amlimage.config.expectations import parse_expectation
from pytest_amlimage.endpoint import server_changes
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import snapshot

OLD = {
    "python": "3.11.2",
    "user": "dockeruser (uid 1000)",
    "cuda": "11.0.3",
    "cudnn": None,
    "env": {"AML_APP_ROOT": "/a"},
    "distributions": {"numpy": "1.26.4", "pandas": "2.2.3", "six": "1.16.0", "click": "8.5.1"},
}
NEW = {
    "python": "3.11.9",
    "user": "dockeruser (uid 1000)",
    "cuda": "12.1.0",
    "cudnn": None,
    "env": {"AML_APP_ROOT": "/b"},
    "distributions": {"numpy": "2.1.3", "pandas": "2.2.3", "click": "8.1.7", "tqdm": "4.0"},
}


def test_diff_names_every_kind_of_change() -> None:
    changes = {(c.kind, c.name, c.old, c.new) for c in snapshot.diff(OLD, NEW)}
    assert changes == {
        ("changed", "python", "3.11.2", "3.11.9"),
        ("changed", "cuda", "11.0.3", "12.1.0"),
        ("changed", "env AML_APP_ROOT", "/a", "/b"),
        ("upgraded", "numpy", "1.26.4", "2.1.3"),
        ("downgraded", "click", "8.5.1", "8.1.7"),
        ("removed", "six", "1.16.0", None),
        ("added", "tqdm", None, "4.0"),
    }
    assert snapshot.diff(OLD, OLD) == []


def test_policies_and_allowances() -> None:
    changes = snapshot.diff(OLD, NEW)
    with pytest.raises(CheckFailed, match="six 1.16.0"):
        baseline.no_removed(changes, (), "baseline x")
    baseline.no_removed(changes, ("six",), "baseline x")
    with pytest.raises(CheckFailed, match="click 8.5.1 -> 8.1.7"):
        baseline.no_downgrade(changes, (), "baseline x")
    with pytest.raises(CheckFailed, match="numpy 1.26.4 -> 2.1.3"):
        baseline.no_major_bump(changes, (), "baseline x")
    allow = parse_expectation("numpy>=2", "--aml-allow")
    assert allow is not None
    baseline.no_major_bump(changes, (allow,), "baseline x")
    with pytest.raises(CheckFailed, match="cuda 11.0.3 -> 12.1.0"):
        baseline.same_cuda_major(old=OLD, new=NEW, against="baseline x")
    baseline.same_user(old=OLD, new=NEW, against="baseline x")
    with pytest.raises(CheckFailed, match="runs as root"):
        baseline.same_user(
            old={"user": "root (uid 0)"}, new={"user": "root (uid 0)"}, against="lock x"
        )


def found_in(lines: list[str]) -> str:
    (line,) = lines
    return line


def test_the_servers_breaking_changes_between_two_versions_either_way() -> None:
    up = [snapshot.Change("upgraded", "azureml-inference-server-http", "0.8.4.2", "1.4.1")]
    found = baseline.server_breaking_changes(up)
    assert [line.split(":")[0] for line in found] == ["1.0.0", "1.1.0", "1.4.0", "1.4.1"]
    assert "rawhttp" in found[2] and "azureml.contrib.services" in found[3]
    assert server_changes.behind_import("opencensus.ext.azure") == found_in(
        server_changes.between("1.4.1", "1.5.1")
    )
    assert server_changes.behind_import("azureml.core") is None
    back = [snapshot.Change("downgraded", "azureml-inference-server-http", "1.5.1", "1.4.1")]
    assert baseline.server_breaking_changes(back) == [
        "1.5.0: OpenTelemetry replaces OpenCensus: logging or tracing set up with OpenCensus breaks"
    ]
    assert (
        baseline.server_breaking_changes([snapshot.Change("upgraded", "numpy", "1.26.4", "2.0.0")])
        == []
    )
