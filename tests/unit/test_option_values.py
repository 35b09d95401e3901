"""Every option, in every spelling, read before anything starts: a bad value is one line naming the option and
where it came from (a usage error: exit code 4), a good one is taken.

Values come from the option's kind (a new option of a known kind is covered without a new test); an option
whose meaning narrows its kind (an image reference, a specifier, a catalog name) says so in OPTION_VALUES.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast
from unittest import mock

import pytest

from pytest_amlimage.config.deployment import OPTION_KEYS
from pytest_amlimage.config.options import BY_NAME, OPTIONS, PATH_KINDS, Option
from pytest_amlimage.config.settings import load
from pytest_amlimage.errors import AmlUsageError

from .test_settings import Config

Values = tuple[list[str], list[str]]  # (good, bad)
KIND_VALUES: dict[str, Values] = {
    "str": (["x"], []),  # any text
    "list": (["x"], []),
    "float": (["0.5", "0"], ["soon", "-1", "inf", "nan"]),
    "int": (["3", "0"], ["3.5", "x", "-1"]),
    "positive": (["2", "0.5"], ["0", "-1", "soon", "inf"]),
    "port": (["8080"], ["0", "70000", "http"]),
    "size": (["512m", "4g", "2Gi"], ["12q", "lots", "-1g", "1k"]),
    "flag": (["true", "false"], ["maybe"]),
    "path": (["<file>"], ["missing.txt"]),
    "file": (["<file>"], ["missing.txt", "<emptyfolder>"]),
    "paths": (["<file>"], ["missing.txt"]),
    "outpath": (["out.json"], ["missing-dir/out.json"]),
    "outpaths": (["out.md"], ["missing-dir/out.md"]),
    "engine": (
        ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375", "ssh://ml@gpu-box"],
        ["gpu-box", "ftp://gpu-box", "tcp://gpu-box:http", "tcp://gpu-box:99999"],
    ),
}
OPTION_VALUES: dict[str, Values] = {
    "image": (["x:1", "registry.io/team/x@sha256:" + "a" * 64], ["Not A Reference", "x:"]),
    "baseline": (["x:0"], ["Not A Reference"]),
    "rebase": (["base:2"], ["Not A Reference"]),
    "expect": (["numpy>=1", "numpy~=1.1.x"], ["numpy>>1"]),
    "allow": (["numpy>=2"], ["numpy>>2"]),
    "framework": (["torch==2.*"], ["torch>>2"]),
    "curated": (["minimal-py312-inference", "auto"], ["AzureML-nope"]),
    "cuda": (["12.4", "none", ">=12"], [">>12"]),
    "cudnn": (["9.19"], ["9..19"]),
    "instance_type": (["Standard_DS3_v2"], ["Standard_X9"]),
    "command": (["azmlinfsrv --port 5001"], ['sh -c "unclosed']),
    "label": (["team=ml"], ["nokey", "io.github.pytest-amlimage.session=x"]),
    "build_arg": (["A=1"], ["=1"]),
    "spec": (["<spec>"], ["missing.toml", "<badspec>", "<emptyfolder>"]),
    "deployment": (["<deployment>"], ["missing.yml", "<baddeployment>", "<emptyfolder>"]),
    "build": (["<dockerfile>"], ["missing/Dockerfile", "<emptyfolder>"]),
    "entry_script": (["<script>"], ["missing.py", "<emptyfolder>", "<file>"]),
    "mlflow_model": (["<mlflow>"], ["missing", "<emptyfolder>", "<file>"]),
    "requirements": (["<requirements>"], ["missing.txt", "<badrequirements>", "<emptyfolder>"]),
    "report": (["r.md", "r.json"], ["r.txt", "missing-dir/r.md"]),
    "lock": (["<lock>"], ["missing.json", "missing-dir/l.json"]),
}
# what an option needs beside it to mean anything
COMPANIONS = {
    "rebase": {"build": "<dockerfile>"},
    "lock_update": {"lock": "<lock>"},
    "batch_input": {"deployment": "<batchdeployment>"},
}
# the options a deployment YAML feeds, and where it writes them (an instance_type the table lacks is not
# an option error: the deployment check reports it)
YAML = {
    "image": "environment:\n  image: '{}'\n",
    "model_dir": "environment:\n  image: x:1\nmodel:\n  path: {}\n",
    "mlflow_model": "environment:\n  image: x:1\nmodel:\n  type: mlflow_model\n  path: {}\n",
    "entry_script": "environment:\n  image: x:1\ncode_configuration:\n  code: .\n  scoring_script: {}\n",
    "memory": "environment:\n  image: x:1\nresources:\n  limits:\n    memory: '{}'\n",
    "cpus": "environment:\n  image: x:1\nresources:\n  limits:\n    cpu: '{}'\n",
}
# spellings of their own in a spec file: a table
SPEC_TABLES = {"expect": lambda spec: f'[expect]\nnumpy = "{spec.removeprefix("numpy")}"\n'}
NO_SPELLING = {"list_curated"}  # an action, not a value: it prints and exits
FILES = {
    "<file>": ("file.txt", "x"),
    "<script>": ("score.py", "def init(): pass\n"),
    "<lock>": ("lock.json", '{"distributions": {}}'),
    "<spec>": ("spec.toml", 'image = ["x:1"]\n'),
    "<badspec>": ("bad.toml", "image = [\n"),
    "<deployment>": ("d.yml", "environment:\n  image: x:1\n"),
    "<baddeployment>": ("bad.yml", "liveness_probe: [\n"),
    "<batchdeployment>": (
        "batch.yml",
        "environment:\n  image: x:1\ncode_configuration:\n  code: .\n  scoring_script: score.py\n"
        "settings:\n  mini_batch_size: 1\n",
    ),
    "<dockerfile>": ("Dockerfile", "FROM x:1\n"),
    "<requirements>": ("requirements.txt", "numpy==1.26.4\n"),
    "<badrequirements>": ("bad-requirements.txt", "numpy===\n"),
}


def values(option: Option) -> Values:
    return OPTION_VALUES.get(option.name) or KIND_VALUES[option.kind]


def given(tmp_path: Path, value: str, option: Option) -> str:
    """A placeholder made real: a file written into ``tmp_path``, or a folder with nothing in it."""
    if value == "<emptyfolder>":
        (tmp_path / "empty").mkdir(exist_ok=True)
        return str(tmp_path / "empty")
    if value == "<mlflow>":  # a folder MLflow wrote: its MLmodel file is what makes it a model
        (tmp_path / "model").mkdir(exist_ok=True)
        (tmp_path / "model" / "MLmodel").write_text("flavors:\n  python_function: {}\n")
        return str(tmp_path / "model")
    if value == "<batchdeployment>":  # its scoring script beside it
        (tmp_path / "score.py").write_text("def init(): pass\n")
    if value in FILES:
        name, text = FILES[value]
        (tmp_path / name).write_text(text)
        return str(tmp_path / name)
    return str(tmp_path / value) if option.kind in PATH_KINDS else value


def spelled(
    option: Option, value: str, spelling: str
) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(command line, ini, file text) that give ``option`` the value ``value`` in ``spelling``; the file is a spec
    file, for ``yaml`` a deployment YAML, and for ``env`` the value of the option's environment variable."""
    if spelling == "cli":
        cli_value: Any = (
            [value] if option.repeatable else (True if option.kind == "flag" else value)
        )
        return {option.name: cli_value}, {}, ""
    if spelling == "ini":
        return {}, {option.name: [value] if option.repeatable else value}, ""
    if spelling == "yaml":
        return {}, {}, YAML[option.name].format(value)
    if spelling == "env":
        return {}, {}, value
    if option.name in SPEC_TABLES:
        return {}, {}, SPEC_TABLES[option.name](value)
    literal = json.dumps([value] if option.repeatable else value)  # JSON's strings are TOML's
    return {}, {}, f"{option.name} = {literal}\n"


def run(tmp_path: Path, option: Option, value: str, spelling: str) -> None:
    cli, ini, text = spelled(option, given(tmp_path, value, option), spelling)
    for name, companion in COMPANIONS.get(option.name, {}).items():
        cli.setdefault(name, given(tmp_path, companion, BY_NAME[name]))
    if spelling == "yaml":  # the image comes from the YAML too
        (tmp_path / "d.yml").write_text(text)
        cli["deployment"] = str(tmp_path / "d.yml")
    elif "image" not in (*cli, *ini) and option.name not in ("spec", "deployment", "image"):
        cli["image"] = ["x:1"]
    if text and spelling == "spec":
        image = 'image = ["x:1"]\n' if option.name != "image" else ""
        # the image first: [tables] end a spec file
        (tmp_path / "spec.toml").write_text(image + text)
        cli["spec"] = str(tmp_path / "spec.toml")
    environment = {option.env: text} if spelling == "env" and option.env else {}
    with mock.patch.dict(os.environ, environment):
        load(cast(pytest.Config, Config(tmp_path, cli, ini)))


def spellings(option: Option) -> list[str]:
    """Every way to give ``option`` a value (a flag on the command line has none to get wrong)."""
    found = [] if option.kind == "flag" else ["cli"]
    found += [] if option.cli_only else ["ini"]
    found += [] if option.name == "spec" else ["spec"]
    return found + (["yaml"] if option.name in YAML else []) + (["env"] if option.env else [])


def where(option: Option, spelling: str) -> str:
    """What a message says of the value's source: the option, its key (in the file), or its variable."""
    if spelling == "yaml":
        return ".".join(OPTION_KEYS[option.name])
    return {
        "cli": option.flag,
        "ini": f"ini {option.ini}",
        "spec": f"key {option.name}",
        "env": str(option.env),
    }[spelling]


def named(message: str, option: Option, spelling: str) -> bool:
    files = {"spec": "spec file", "yaml": "deployment"}
    return where(option, spelling) in message and files.get(spelling, "") in message


COVERED = [option for option in OPTIONS if option.name not in NO_SPELLING]


def test_every_option_is_covered() -> None:
    bad = sum(len(spellings(o)) * len(values(o)[1]) for o in COVERED)
    typed = sum(len(wrong_types(o)) for o in COVERED if o.name != "spec")
    print(
        f"{len(COVERED)} of {len(OPTIONS)} options covered ({', '.join(NO_SPELLING)} is an action): "
        f"{bad} bad values, {typed} spec values of the wrong type"
    )
    assert {o.name for o in COVERED} | NO_SPELLING == {o.name for o in OPTIONS}
    assert all(values(o)[0] for o in COVERED)  # every option has a good value to show


@pytest.mark.parametrize("option", COVERED, ids=lambda option: option.name)
def test_bad_values_are_one_line_naming_the_option_and_its_source(
    tmp_path: Path, option: Option
) -> None:
    problems = []
    for spelling in spellings(option):
        for value in values(option)[1]:
            try:
                run(tmp_path, option, value, spelling)
            except AmlUsageError as error:
                message = str(error)
                if "\n" in message or not named(message, option, spelling):
                    problems.append(f"{spelling} {value!r}: {message}")
            else:
                problems.append(f"{spelling} {value!r}: taken")
    assert problems == []


# the YAML's resources.limits are Kubernetes quantities: 512m there is 0.512 bytes, 2G is 2 x 10^9 bytes
YAML_GOOD = {"memory": ["512Mi", "2G", "0.5Gi"]}


@pytest.mark.parametrize("option", COVERED, ids=lambda option: option.name)
def test_good_values_are_taken(tmp_path: Path, option: Option) -> None:
    flags_on_the_command_line = ["cli"] if option.kind == "flag" else []
    for spelling in [*spellings(option), *flags_on_the_command_line]:
        good = YAML_GOOD.get(option.name) if spelling == "yaml" else None
        for value in good or values(option)[0]:
            run(tmp_path, option, value, spelling)


def wrong_types(option: Option) -> list[str]:
    """TOML values of a type the option cannot take: a table (where it is not a table), a number for a list, a
    list for one value."""
    if option.name in SPEC_TABLES:
        return ["5", "[1, 2]"]
    return ["{ a = 1 }", "5" if option.repeatable else "[1, 2]"]


@pytest.mark.parametrize("option", [o for o in COVERED if o.name != "spec"], ids=lambda o: o.name)
def test_a_spec_value_of_the_wrong_type_is_one_line_naming_its_key(
    tmp_path: Path, option: Option
) -> None:
    problems = []
    for literal in wrong_types(option):
        image = 'image = ["x:1"]\n' if option.name != "image" else ""
        (tmp_path / "spec.toml").write_text(f"{image}{option.name} = {literal}\n")
        try:
            load(cast(pytest.Config, Config(tmp_path, {"spec": str(tmp_path / "spec.toml")}, {})))
        except AmlUsageError as error:
            if "\n" in str(error) or not named(str(error), option, "spec"):
                problems.append(f"{literal}: {error}")
        else:
            problems.append(f"{literal}: taken")
    assert problems == []
