"""pytest behaviour of the plugin, no engine needed: options, help, catalog listing, usage errors."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from pytest_amlimage.config.options import OPTIONS


def test_help_lists_every_option_in_its_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*Azure ML inference image validation (pytest-amlimage)*"])
    for option in OPTIONS:
        result.stdout.fnmatch_lines([f"*{option.flag}*"])
        if option.kind != "flag":
            result.stdout.fnmatch_lines([f"*{option.ini} (*"])


def test_list_curated_prints_the_catalog_and_exits(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--aml-list-curated")
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "curated environment*framework*device*packages*CUDA*cuDNN",
            "AzureML-tensorflow-2.4-ubuntu18.04-py37-cuda11.0.3-gpu-inference*TensorFlow 2.4*GPU*11.0.3*8.0.5.39",
        ]
    )


def test_without_options_the_plugin_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys
        def test_lazy():
            assert "docker" not in sys.modules
            assert "testcontainers" not in sys.modules
            assert "pytest_amlimage.run.session" not in sys.modules
        """
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


def usage_error(pytester: pytest.Pytester, *args: str) -> str:
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stdout.no_fnmatch_line("*Traceback*")
    result.stderr.no_fnmatch_line("*Traceback*")
    errors = [line for line in result.stderr.lines if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stderr.str()
    return errors[0]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--aml-image", "Not A Reference"],
            "invalid image reference 'Not A Reference' (from --aml-image)",
        ),
        (
            ["--aml-image", "x:1", "--aml-expect", "numpy>>1"],
            "cannot read the version expectation 'numpy>>1'",
        ),
        (
            ["--aml-image", "x:1", "--aml-curated", "AzureML-nope"],
            "unknown curated environment 'AzureML-nope'",
        ),
        (
            ["--aml-image", "x:1", "--aml-spec", "missing.toml"],
            "missing.toml (from --aml-spec) does not exist",
        ),
        (
            ["--aml-image", "x:1", "--aml-requirements", "nope.txt"],
            "nope.txt (from --aml-requirements) does not exist",
        ),
        (
            ["--aml-image", "x:1", "--aml-ready-timeout", "soon"],
            "--aml-ready-timeout 'soon' is not a number",
        ),
        (["--aml-image", "x:1", "--aml-atol", "-1"], "--aml-atol '-1' must not be negative"),
    ],
)
def test_bad_options_are_one_line_usage_errors(
    pytester: pytest.Pytester, args: list[str], expected: str
) -> None:
    assert expected in usage_error(pytester, *args)


def test_ini_errors_name_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naml_image = x:1\naml_expect =\n    numpy==1.20.1\n    pandas=>1\n")
    assert "(from ini aml_expect)" in usage_error(pytester)


def test_spec_file_errors(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", bad="image = [\n")
    assert "is not valid TOML" in usage_error(pytester, "--aml-spec", "bad.toml")
    pytester.makefile(".toml", unknown='image = ["x:1"]\nimages = ["y"]\n')
    assert "unknown key 'images'" in usage_error(pytester, "--aml-spec", "unknown.toml")
    pytester.makefile(".toml", badexpect='image = ["x:1"]\n[expect]\nnumpy = "=>1"\n')
    assert "badexpect.toml key expect.numpy)" in usage_error(
        pytester, "--aml-spec", "badexpect.toml"
    )


def test_a_template_without_an_image_names_the_option(pytester: pytest.Pytester) -> None:
    """A template's environment is a registry reference: nothing to pull here, so the image is an option."""
    template = (Path(__file__).resolve().parents[2] / "examples/template/template.yml").read_text()
    pytester.makefile(".yml", template=template)
    line = usage_error(pytester, "--aml-deployment=template.yml")
    assert "a deployment template names a registry environment, which cannot be pulled here" in line
    assert line.endswith("pass --aml-image=IMAGE")


def test_sample_that_is_not_json(pytester: pytest.Pytester) -> None:
    pytester.makefile(".json", request="{not json")
    assert "request.json is not valid JSON" in usage_error(
        pytester, "--aml-image", "x:1", "--aml-sample", "request.json"
    )


def test_unreachable_engine_is_a_usage_error(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")
    line = usage_error(pytester, "--aml-image", "x:1")
    assert "cannot reach the Docker engine at tcp://127.0.0.1:9" in line
    assert "set DOCKER_HOST to a running engine" in line


def run_at_once(commands: list[list[str]], cwd: Path) -> list[pytest.RunResult]:
    """Each command in its own process, all at once, in ``cwd``; their results in order."""
    started = time.perf_counter()
    running = [
        subprocess.Popen(
            command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for command in commands
    ]
    results = []
    for process in running:
        out, err = process.communicate(timeout=120)
        took = time.perf_counter() - started
        results.append(
            pytest.RunResult(process.returncode, out.splitlines(), err.splitlines(), took)
        )
    return results


def test_a_path_option_written_with_a_space_that_moves_the_rootdir_warns(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pytest-dev/pytest#8846: a plugin option's value after a space reads as a test path when finding the rootdir."""
    project = pytester.mkdir("project")
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_mine.py").write_text("def test_mine():\n    pass\n")
    elsewhere = pytester.mkdir("elsewhere")
    (elsewhere / "request.json").write_text("{}")
    sample = str(elsewhere / "request.json")
    monkeypatch.chdir(project)
    pytest_command = (sys.executable, "-m", "pytest", "-p", "no:cacheprovider")
    # as users write it (no test path), and joined: both at once, as each only waits on its start
    spaced, joined = run_at_once(
        [[*pytest_command, "--aml-sample", sample], [*pytest_command, f"--aml-sample={sample}"]],
        project,
    )
    spaced.stdout.fnmatch_lines(
        [
            f"*PytestConfigWarning: pytest took the rootdir {pytester.path} from the value of --aml-sample {sample} *"
            f"write --aml-sample={sample}"
        ]
    )
    joined.stdout.fnmatch_lines([f"rootdir: {project}", "configfile: pytest.ini"])
    joined.stdout.no_fnmatch_line("*took the rootdir*")
    joined.assert_outcomes(passed=1)


@pytest.mark.parametrize("key", ["aml_deployment", "aml_build"])
def test_an_option_that_names_what_to_test_runs_the_plugin_from_ini_alone(
    pytester: pytest.Pytester, key: str
) -> None:
    """Not inert: the plugin reads it, and its error (no such file) is what the user sees."""
    pytester.makeini(f"[pytest]\n{key} = missing-file\n")
    assert f"(from ini {key}) does not exist" in usage_error(pytester)


def test_options_without_an_image_warn_that_the_plugin_does_nothing(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile("def test_mine():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--aml-rtol", "0.1")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*options are set, but no image: the plugin does nothing*"])


def test_a_setting_in_ini_that_names_no_image_leaves_other_test_runs_alone(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\naml_memory = 8g\n")
    pytester.makepyfile("def test_mine():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*the plugin does nothing*")
