import ast
import json
import os
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from pytest_amlimage import probe
from pytest_amlimage.engine.container import ExecResult
from pytest_amlimage.probe.inimage.folders import app_folder
from pytest_amlimage.probe.inimage.imports import entry_script, installed_modules, module_of
from pytest_amlimage.probe.inimage.resolve import resolves


def test_the_probe_script_parses_as_python_3_7() -> None:
    ast.parse(probe.script(), feature_version=(3, 7))


def test_the_script_joins_the_parts_without_their_imports_of_each_other() -> None:
    text = probe.script()
    assert "from ." not in text and text.count("from __future__") == 1
    assert text.index("def framed(") < text.index("def library_evidence(") < text.index("def main(")


def framed(payload: dict) -> str:
    return probe.BEGIN + json.dumps(payload) + probe.END


def test_banners_around_the_frame_are_ignored() -> None:
    payload = {
        "user": {"uid": 1000, "name": "dockeruser"},
        "python": {"version": "3.7.9"},
        "distributions": {"NumPy": {"name": "numpy", "version": "1.20.1", "requires": []}},
    }
    output = f"{probe.UID_MARK}1000\nWelcome {{not json}} {probe.END}\n{framed(payload)}\nbye\n"
    facts = probe.parse(ExecResult(0, output, "WARNING: noise"))
    assert facts.uid == 1000
    assert facts.python_version == "3.7.9"
    assert facts.version_of("numpy") == "1.20.1"


def test_no_python_is_a_reason_not_a_crash() -> None:
    facts = probe.parse(ExecResult(127, f"{probe.UID_MARK}1000\n{probe.NO_PYTHON}\n"))
    assert facts.uid == 1000
    assert facts.python_error == "no `python` or `python3` on the image's PATH"


def test_a_probe_that_dies_reports_its_stderr() -> None:
    facts = probe.parse(ExecResult(1, f"{probe.UID_MARK}0\n", "Traceback ...\nMemoryError"))
    assert facts.uid == 0
    assert facts.python_error is not None and "MemoryError" in facts.python_error


@pytest.mark.parametrize(
    ("exit_code", "killed"), [(137, True), (143, True), (-1, True), (1, False), (139, False)]
)
def test_a_probe_killed_from_outside_says_so(exit_code: int, killed: bool) -> None:
    """The container's end kills its execs (137) before the engine reports it stopped: such facts are no answer."""
    facts = probe.parse(ExecResult(exit_code, f"{probe.UID_MARK}1000\n"))
    assert facts.python_error == f"the probe did not finish: exit code {exit_code}"
    assert facts.killed is killed


def test_the_script_runs_here_and_reports_this_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-c", probe.script()], capture_output=True, text=True, check=True
    )
    facts = probe.parse(ExecResult(0, result.stdout))
    assert facts.python_version == ".".join(map(str, sys.version_info[:3]))
    assert facts.version_of("pytest") is not None
    assert facts.markers["sys_platform"] == sys.platform


class Launcher:
    """The probe's launcher run by this machine's sh among scripts of our own: which python it chose, what it read."""

    def __init__(self, folder: Path) -> None:
        self.bin, self.python = folder / "bin", folder / "envs" / "serving" / "bin" / "python3.11"
        self.bin.mkdir()
        self.python.parent.mkdir(parents=True)
        self.python.symlink_to(os.path.realpath(sys.executable))

    def script(self, name: str, *lines: str) -> str:
        path = self.bin / name
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o755)
        return str(path)

    def run(self, **variables: str) -> ExecResult:
        environment = {"PATH": f"{self.bin}:/usr/bin:/bin", **variables}
        command = ["sh", "-c", probe.LAUNCHER, "probe", "import sys; print(sys.executable)", "", ""]
        result = subprocess.run(
            command, env=environment, capture_output=True, text=True, check=True
        )
        return ExecResult(result.returncode, result.stdout, result.stderr)

    def chosen(self, **variables: str) -> str:
        return self.run(**variables).output.splitlines()[-1]

    def server_script(self, name: str, *lines: str) -> dict[str, Any]:
        """What the launcher reads of the script ``lines``, named by the start command."""
        return probe.parse(
            self.run(**{probe.SERVER_PROGRAM: self.script(name, *lines)})
        ).server_script


def test_the_launcher_runs_the_python_that_serves(tmp_path: Path) -> None:
    launcher = Launcher(tmp_path)
    python = str(launcher.python)
    launcher.script("azmlinfsrv", f"#!{python}", "import server")
    assert launcher.chosen() == python  # the shebang of the azmlinfsrv on PATH
    # no python there: not that
    assert launcher.chosen(AZUREML_INFERENCE_PYTHON_PATH=str(tmp_path)) == python
    (launcher.bin / "azmlinfsrv").unlink()  # now only the start command names the server
    # pip's, for a long path
    trampoline = (
        "#!/bin/sh",
        f'\'\'\'exec\' "{python}" "$0" "$@"',
        "' '''",
    )
    assert (
        launcher.chosen(
            **{probe.SERVER_PROGRAM: launcher.script("azmlinfsrv-elsewhere", *trampoline)}
        )
        == python
    )
    # python -m azureml_inference_server_http
    assert launcher.chosen(**{probe.SERVER_PROGRAM: python}) == python


def test_a_shebang_that_is_not_a_python_is_not_the_probes_interpreter(tmp_path: Path) -> None:
    launcher = Launcher(tmp_path)
    launcher.script("azmlinfsrv", "#!/bin/bash", "exec something-else")
    launcher.script("python", "#!/bin/sh", f'exec {launcher.python} "$@"')
    # the first python on PATH, through its wrapper
    assert launcher.chosen() == str(launcher.python)


def test_the_server_script_is_read_for_the_python_it_names(tmp_path: Path) -> None:
    launcher = Launcher(tmp_path)
    python = str(launcher.python)
    here = launcher.server_script("here", f"#!{python}", "import server")
    assert (here["shebang"], here["interpreter"], here["runs"]) == (f"#!{python}", python, True)
    # moved after pip
    assert launcher.server_script("moved", "#!/build/venv/bin/python")["runs"] is False
    assert launcher.server_script("env", "#!/usr/bin/env -S no-such-python3")["runs"] is False
    trampoline = launcher.server_script(
        "long", "#!/bin/sh", '\'\'\'exec\' "/gone/bin/python" "$0" "$@"', "' '''"
    )
    assert (trampoline["interpreter"], trampoline["runs"]) == ("/gone/bin/python", False)
    assert launcher.server_script("binary", "\x7fELF")["runs"] is None  # nothing to tell from
    # python -m: no script
    assert probe.parse(launcher.run(**{probe.SERVER_PROGRAM: python})).server_script == {}


def test_a_missing_entry_script_is_looked_for_in_the_workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "score.py").write_text("def init(): pass\ndef run(raw): return raw\n")
    monkeypatch.chdir(tmp_path)
    found = entry_script("/var/azureml-app", "score.py")
    assert (found["exists"], found["in_workdir"]) == (False, str(tmp_path / "score.py"))
    assert entry_script("/var/azureml-app", "other.py")["in_workdir"] is None


def test_the_module_a_distribution_is_imported_as_comes_from_its_record() -> None:
    def installed(*paths: str) -> set[str] | None:
        return installed_modules([PurePosixPath(path) for path in paths])

    blob = installed(
        "azure/storage/blob/__init__.py",
        "azure/storage/blob/_models.py",
        "azure_blob.dist-info/RECORD",
    )
    # not just the namespace
    assert module_of("azure-storage-blob", ["azure"], blob) == "azure.storage.blob"
    server = installed("azureml_inference_server_http/__init__.py", "../../bin/azmlinfsrv")
    assert module_of("azureml-inference-server-http", [], server) == "azureml_inference_server_http"
    assert module_of("pyjwt", ["jwt"], installed("jwt/__init__.py")) == "jwt"
    assert (
        module_of("python-dateutil", [], installed("dateutil/__init__.py", "six.py")) == "dateutil"
    )
    assert module_of("six", [], installed("six.py", "six-1.16.dist-info/METADATA")) == "six"
    # meta
    assert (
        module_of("azureml-defaults", [], installed("azureml_defaults-1.0.dist-info/METADATA"))
        is None
    )
    assert module_of("scikit-learn", [], None) == "sklearn"
    assert module_of("some-egg", [], None) == "some_egg"  # no RECORD: its name


def test_a_module_beside_a_script_outside_the_app_root_is_named_as_such(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, root = tmp_path / "app", tmp_path / "root"
    app.mkdir(), root.mkdir()
    (app / "helpers.py").write_text("")
    (app / "score.py").write_text(
        "import helpers\nimport json\ndef init(): pass\ndef run(data): return data\n"
    )
    found = entry_script(str(root), str(app / "score.py"))
    assert (found["missing"], found["beside"], found["searched"]) == (
        ["helpers"],
        ["helpers"],
        [str(root)],
    )
    # the usual layout: the script's folder is the root
    assert entry_script(str(app), "score.py")["missing"] == []
    # gunicorn's cwd
    assert entry_script(str(root), str(app / "score.py"), server_cwd=str(app))["missing"] == []
    monkeypatch.setenv("AZUREML_SOURCE_DIRECTORY", "../app")
    # the server's source directory
    assert entry_script(str(root), str(app / "score.py"))["missing"] == []


def test_the_apps_folder_is_the_app_root_unless_that_is_the_filesystems_root() -> None:
    assert app_folder("/var/azureml-app", "score.py") == "/var/azureml-app"
    assert app_folder("/", "/app/score.py") == "/app"
    assert app_folder("/", None) == "/"


def test_a_submodule_of_a_shared_namespace_must_itself_resolve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`azureml` resolves in any image with an azureml-* package; `azureml.contrib.services` may not."""
    site = tmp_path / "site"
    (site / "azureml" / "ai" / "monitoring").mkdir(parents=True)
    # azureml-ai-monitoring's: no code
    (site / "azureml" / "__init__.py").write_text("# Copyright (c) Microsoft.\n")
    (site / "azureml" / "ai" / "__init__.py").write_text('"""a namespace"""\n')
    (site / "azureml" / "ai" / "monitoring" / "__init__.py").write_text("VERSION = 1\n")
    (site / "coded").mkdir()
    # provides submodules itself
    (site / "coded" / "__init__.py").write_text("from os import path as sub\n")
    monkeypatch.syspath_prepend(str(site))
    assert resolves("azureml.ai.monitoring") and resolves("os.path") and resolves("coded.sub")
    assert not resolves("azureml.contrib.services.aml_request") and not resolves("nowhere.at.all")


def test_a_runit_service_needs_only_the_folders_its_programs_write(tmp_path: Path) -> None:
    """runsv writes each service's supervise/; nginx and rsyslogd their own folders; sudo runs as root."""
    from pytest_amlimage.probe.inimage.folders import _service_needs, service_programs

    assert service_programs("#!/bin/bash\nexec nginx -g 'daemon off;'\n") == ["nginx"]
    assert service_programs("exec /usr/sbin/rsyslogd -n  # logs\n") == ["rsyslogd"]
    assert service_programs("sudo service nginx start\n") == []
    assert service_programs("# nginx is elsewhere\nexec azmlinfsrv --port 31311\n") == []
    server = tmp_path / "gunicorn"
    server.mkdir()
    (server / "run").write_text(
        "#!/bin/bash\nexec azmlinfsrv --entry_script score.py --port 31311\n"
    )
    assert _service_needs("gunicorn", str(server)) == {
        str(server): "runsv, for the service gunicorn"
    }
    proxy = tmp_path / "nginx"
    (proxy / "supervise").mkdir(parents=True)
    (proxy / "run").write_text("#!/bin/bash\nexec nginx\n")
    assert list(_service_needs("nginx", str(proxy))) == [
        str(proxy / "supervise"),
        "/var/lib/nginx",
        "/var/log/nginx",
        "/run",
    ]
