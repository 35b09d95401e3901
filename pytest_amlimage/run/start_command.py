"""What an image's start command (``ENTRYPOINT`` + ``CMD``, or ``--aml-command``) says about how it serves."""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Mapping, Sequence

from pytest_amlimage.probe import SERVER_CWD, SERVER_PROGRAM

# the script, or python -m the package
SERVER_PROGRAMS = (
    "azmlinfsrv",
    "azureml_inference_server_http",
)
_VARIABLE = re.compile(r"\$(?:(\w+)|\{(\w+)\})")


def words(command_line: Sequence[str]) -> list[str]:
    """The command's words; a shell's ``-c`` text (also ``-ec``, ``-lc``) split as the shell would."""
    found: list[str] = []
    for before, word in zip(("", *command_line), command_line):
        shell_text = before.startswith("-") and not before.startswith("--") and "c" in before
        try:
            found += shlex.split(word) if shell_text else [word]
        except ValueError:  # unbalanced quotes: the shell would refuse it too
            found.append(word)
    return found


def runs(said: list[str], program: str) -> bool:
    """``said`` (the command's ``words``) runs ``program``."""
    return any(posixpath.basename(word) == program for word in said)


def serves_script(said: list[str]) -> bool:
    """The command starts azmlinfsrv with a script (``--entry_script``, or in a ``--config_file``)."""
    return _runs_server(said) and any(
        _option(said, name) is not None for name in ("--entry_script", "--config_file")
    )


def server_port(said: list[str]) -> int | None:
    """The port ``azmlinfsrv --port N`` in the command listens on (None: the server's default, ``SERVER_PORT``)."""
    port = _option(said, "--port") if _runs_server(said) else None
    return int(port) if port is not None and port.isdigit() else None


def server_environment(
    said: list[str], working_dir: str, environment: Mapping[str, str]
) -> dict[str, str]:
    """What the probe must see to read X as ``azmlinfsrv --entry_script X`` in the command will load it.

    The server makes X absolute against its working directory, takes that directory as
    ``AML_APP_ROOT`` unless one is set, and ``--model_dir`` as ``AZUREML_MODEL_DIR``
    (``merge_configuration`` in azureml_inference_server_http's ``amlserver.py``); gunicorn puts the
    directory on the import path too. ``$VAR`` is read from ``environment``, as the shell would. No
    script variables when the command does not start azmlinfsrv with a script this can spell out. The
    program the server runs with, where the command names it (``/opt/env/bin/azmlinfsrv``, or the
    python of ``python -m azureml_inference_server_http``), goes to the probe's launcher.
    """
    expanded = [_expand(word, environment) for word in said] if _runs_server(said) else []
    program = _server_program(expanded)
    found = {SERVER_PROGRAM: program} if program else {}
    script, model_dir = _option(expanded, "--entry_script"), _option(expanded, "--model_dir")
    if script is None or "$" in script:
        return found
    root = working_dir or "/"
    found.update(
        {"AZUREML_ENTRY_SCRIPT": posixpath.normpath(posixpath.join(root, script)), SERVER_CWD: root}
    )
    if "AML_APP_ROOT" not in environment:
        found["AML_APP_ROOT"] = root
    if model_dir and "$" not in model_dir:
        found["AZUREML_MODEL_DIR"] = posixpath.join(root, model_dir)
    return found


def _runs_server(said: list[str]) -> bool:
    return any(runs(said, program) for program in SERVER_PROGRAMS)


def _server_program(said: list[str]) -> str | None:
    """``/path/azmlinfsrv`` as written, or the python before ``-m azureml_inference_server_http``."""
    for index, word in enumerate(said):
        if "/" in word and posixpath.basename(word) == "azmlinfsrv" and "$" not in word:
            return word
        if word == "azureml_inference_server_http" and said[index - 1 : index] == ["-m"]:
            # python3 -u -m
            python = [before for before in said[: index - 1] if not before.startswith("-")][-1:]
            return python[0] if python and "$" not in python[0] else None
    return None


def _expand(word: str, environment: Mapping[str, str]) -> str:
    """``$NAME`` and ``${NAME}`` from ``environment``; a name it does not hold stays as written."""
    return _VARIABLE.sub(lambda m: environment.get(m.group(1) or m.group(2), m.group(0)), word)


def _option(said: list[str], name: str) -> str | None:
    for index, word in enumerate(said):
        if word == name and index + 1 < len(said):
            return said[index + 1]
        if word.startswith(name + "="):
            return word[len(name) + 1 :]
    return None
