"""Settings: precedence of command line, ini, spec file and defaults; path bases; every usage error."""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, cast

import pytest

from pytest_amlimage.config.options import BY_NAME, OPTIONS
from pytest_amlimage.config.settings import Settings, load
from pytest_amlimage.errors import AmlUsageError


@dataclass
class Config:
    """What ``settings.load`` reads of a pytest config: parsed options, ini values, the rootdir."""

    rootpath: Path
    cli: dict[str, Any] = field(default_factory=dict)
    ini: dict[str, Any] = field(default_factory=dict)

    def getoption(self, dest: str) -> Any:
        option = next(o for o in OPTIONS if o.ini == dest)
        return self.cli.get(option.name, False if option.kind == "flag" else None)

    def getini(self, name: str) -> Any:
        option = next(o for o in OPTIONS if o.ini == name)
        empty = {"bool": False, "linelist": [], "string": ""}[option.ini_type]
        return self.ini.get(option.name, empty)


MIB = 1024**2


def settings(
    tmp_path: Path, cli: dict[str, Any] | None = None, ini: dict[str, Any] | None = None
) -> Settings:
    return load(cast(pytest.Config, Config(tmp_path, cli or {}, ini or {})))


def spec(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec" / "aml-image.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text)
    return str(path)


def test_defaults_come_from_the_option_table(tmp_path: Path) -> None:
    found = settings(tmp_path)
    timeouts = (found.ready_timeout, found.score_timeout)
    # ready: the probe budget
    assert found.endpoint.scoring_route.port == 5001 and timeouts == (
        310.0,
        60.0,
    )
    # cpus: the engine's
    assert (found.memory, found.cpus, found.rtol, found.atol) == (
        4096 * MIB,
        None,
        1e-6,
        1e-9,
    )
    assert found == Settings()
    assert all(BY_NAME[name].default is not None for name in ("port", "memory", "score_timeout"))


def test_command_line_beats_ini_beats_spec_file(tmp_path: Path) -> None:
    path = spec(tmp_path, 'ready_timeout = 30\nmemory = "1g"\ncpus = 1\n')
    found = settings(
        tmp_path, {"spec": path, "ready_timeout": "10"}, {"ready_timeout": "20", "memory": "2g"}
    )
    assert (found.ready_timeout, found.memory, found.cpus) == (10.0, 2048 * MIB, 1.0)


def test_relative_paths_are_relative_to_their_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("cwd", "root", "spec"):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "req.txt").write_text("numpy\n")
    monkeypatch.chdir(tmp_path / "cwd")
    path = spec(tmp_path, 'requirements = "req.txt"\n')
    root = tmp_path / "root"
    assert settings(root, {"spec": path}).requirements == tmp_path / "spec" / "req.txt"
    assert (
        settings(root, {"spec": path}, {"requirements": "req.txt"}).requirements == root / "req.txt"
    )
    cli = {"spec": path, "requirements": "req.txt"}
    assert (
        settings(root, cli, {"requirements": "req.txt"}).requirements
        == tmp_path / "cwd" / "req.txt"
    )


def test_repeatable_options_accept_a_string_or_a_list_in_the_spec_file(tmp_path: Path) -> None:
    assert settings(tmp_path, {"spec": spec(tmp_path, 'image = "a:1"\n')}).images == ("a:1",)
    assert settings(
        tmp_path, {"spec": spec(tmp_path, 'image = ["a:1", "b:2", "a:1"]\n')}
    ).images == ("a:1", "b:2")


def test_flags_and_pairs(tmp_path: Path) -> None:
    found = settings(tmp_path, {"gpu": True, "label": ["ci=1", "job=x=y"], "build_arg": ["V=2"]})
    assert (
        found.gpu
        and found.labels == (("ci", "1"), ("job", "x=y"))
        and found.build_args == (("V", "2"),)
    )


@pytest.mark.parametrize(
    ("cli", "ini", "message"),
    [
        ({"ready_timeout": "soon"}, {}, "--aml-ready-timeout 'soon' is not a number: give e.g. 1"),
        ({}, {"port": "x"}, "ini aml_port 'x' is not a whole number: give e.g. 5001"),
        ({"max_slowdown": "x"}, {}, "--aml-max-slowdown 'x' is not a number: give e.g. 1"),
        ({"atol": "-1"}, {}, "--aml-atol '-1' must not be negative"),
        (
            {"requirements": "nope.txt"},
            {},
            "*/nope.txt (from --aml-requirements) does not exist: check the path",
        ),
        ({}, {"sample": ["nope/"]}, "*/nope (from ini aml_sample) does not exist: check the path"),
        (
            {"report": ["out.txt"]},
            {},
            "--aml-report '*/out.txt': the report file must end in .json or .md",
        ),
        ({"report": ["no/such/dir/r.md"]}, {}, "*/no/such/dir (from --aml-report) is not a folder"),
        ({"lock_update": True}, {}, "--aml-lock-update needs --aml-lock PATH"),
        ({"lock": "absent.json"}, {}, "*absent.json (from --aml-lock) does not exist"),
        ({"image": ["Bad Name"]}, {}, "invalid image reference 'Bad Name' (from --aml-image)"),
        ({"baseline": "UPPER:1"}, {}, "invalid image reference 'UPPER:1' (from --aml-baseline)"),
        ({"label": ["novalue"]}, {}, "--aml-label needs KEY=VALUE*"),
        ({"label": ["io.github.pytest-amlimage.x=1"]}, {}, "--aml-label needs KEY=VALUE*"),
        ({"curated": "nope"}, {}, "unknown curated environment 'nope'*"),
        (
            {"cuda": "eleven"},
            {},
            "cannot read the version expectation 'cuda eleven' (from --aml-cuda)*",
        ),
        ({"gpu": True, "cuda": "none"}, {}, "--aml-gpu and --aml-cuda none contradict each other*"),
        (
            {"framework": "torch=>1"},
            {},
            "cannot read the version expectation 'torch=>1' (from --aml-framework)*",
        ),
        (
            {"expect": ["numpy==1", "numpy==2"]},
            {},
            "contradictory expectations for numpy from --aml-expect*",
        ),
        ({"build": "."}, {}, "* (from --aml-build) holds no Dockerfile*"),
        (
            {},
            {"command": "azmlinfsrv 'my score.py"},
            "cannot split the command * (from ini aml_command)*",
        ),
    ],
)
def test_every_error_names_its_source(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cli: dict[str, Any],
    ini: dict[str, Any],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(AmlUsageError) as error:
        settings(tmp_path, cli, ini)
    assert fnmatch(str(error.value), message + "*"), str(error.value)


def test_spec_file_errors(tmp_path: Path) -> None:
    with pytest.raises(AmlUsageError, match="unknown key 'colour'"):
        settings(tmp_path, {"spec": spec(tmp_path, 'colour = "red"\n')})
    with pytest.raises(AmlUsageError, match="is not valid TOML"):
        settings(tmp_path, {"spec": spec(tmp_path, "image = [\n")})
    with pytest.raises(AmlUsageError, match=r"key expect .numpy. is not a table"):
        settings(tmp_path, {"spec": spec(tmp_path, 'expect = "numpy"\n')})
    with pytest.raises(
        AmlUsageError, match="^spec file .*aml-image.toml key ready_timeout 'soon' is not a number"
    ):
        settings(tmp_path, {"spec": spec(tmp_path, 'ready_timeout = "soon"\n')})


def test_expectations_merge_across_sources_later_wins(tmp_path: Path) -> None:
    path = spec(tmp_path, '[expect]\nnumpy = ">=1.16"\npandas = "~=1.1.x"\n')
    found = settings(tmp_path, {"spec": path, "expect": ["numpy<2"]}, {"expect": ["pandas==1.1.5"]})
    shown = {e.name: (str(e.specifier), e.source) for e in found.expectations}
    assert shown == {"numpy": ("<2", "--aml-expect"), "pandas": ("==1.1.5", "ini aml_expect")}


def test_an_instance_type_sizes_the_container_unless_an_option_does(tmp_path: Path) -> None:
    small = settings(tmp_path, {"image": ["x:1"], "instance_type": "standard_ds1_v2"})
    assert small.instance is not None and small.instance.name == "Standard_DS1_v2"
    # 3.5 GiB; CPUs: the instance's, capped at launch
    assert (small.memory, small.cpus) == (
        3584 * MIB,
        None,
    )
    given = settings(
        tmp_path, {"image": ["x:1"], "instance_type": "Standard_DS1_v2", "memory": "1g"}
    )
    assert given.memory == 1024 * MIB
    with pytest.raises(
        AmlUsageError, match=r"unknown instance type 'Standard_X9' \(from --aml-instance-type\)"
    ):
        settings(tmp_path, {"image": ["x:1"], "instance_type": "Standard_X9"})


def test_instance_types_repeat_for_the_capacity_run_and_the_first_sizes_the_container(
    tmp_path: Path,
) -> None:
    found = settings(
        tmp_path,
        {
            "image": ["x:1"],
            "instance_type": ["Standard_DS1_v2", "Standard_F4s_v2"],
            "capacity": True,
        },
    )
    assert found.instance is not None and found.instance.name == "Standard_DS1_v2"
    assert found.memory == 3584 * MIB
    assert [t.name for t in found.capacity_types] == ["Standard_DS1_v2", "Standard_F4s_v2"]
    assert found.latency_bound == (5000, "request_timeout_ms, from the platform's defaults")
    with pytest.raises(
        AmlUsageError, match=r"unknown instance type 'Standard_F4x_v2'.*Standard_F4s_v2"
    ):
        settings(
            tmp_path, {"image": ["x:1"], "instance_type": ["Standard_DS1_v2", "Standard_F4x_v2"]}
        )
