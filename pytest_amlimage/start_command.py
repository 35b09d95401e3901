"""What an image's start command (``ENTRYPOINT`` + ``CMD``, or ``--aml-command``) says about how it serves."""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Mapping, Sequence

from .probe import SERVER_CWD

SERVER_PROGRAMS = ("azmlinfsrv", "azureml_inference_server_http")  # the script, or python -m the package


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


def runs(command_line: Sequence[str], program: str) -> bool:
    return any(posixpath.basename(word) == program for word in words(command_line))


def server_port(command_line: Sequence[str]) -> int | None:
    """The port ``azmlinfsrv --port N`` in the command listens on (None: the server's default, 5001)."""
    said = words(command_line)
    port = _option(said, "--port")
    if port is None or not port.isdigit() or not any(posixpath.basename(w) in SERVER_PROGRAMS for w in said):
        return None
    return int(port)


def server_environment(command_line: Sequence[str], working_dir: str, environment: Mapping[str, str]) -> dict[str, str]:
    """What the probe must see to read X as ``azmlinfsrv --entry_script X`` in the command will load it.

    The server makes X absolute against its working directory, takes that directory as
    ``AML_APP_ROOT`` unless one is set, and ``--model_dir`` as ``AZUREML_MODEL_DIR``
    (``merge_configuration`` in azureml_inference_server_http's ``amlserver.py``); gunicorn puts the
    directory on the import path too. Empty when the command does not start azmlinfsrv with a script.
    """
    said = words(command_line)
    script, model_dir = _option(said, "--entry_script"), _option(said, "--model_dir")
    if script is None or not any(posixpath.basename(word) in SERVER_PROGRAMS for word in said):
        return {}
    root = working_dir or "/"
    found = {"AZUREML_ENTRY_SCRIPT": posixpath.normpath(posixpath.join(root, script)), SERVER_CWD: root}
    if "AML_APP_ROOT" not in environment:
        found["AML_APP_ROOT"] = root
    if model_dir:
        found["AZUREML_MODEL_DIR"] = posixpath.join(root, model_dir)
    return found


def _option(said: list[str], name: str) -> str | None:
    for index, word in enumerate(said):
        if word == name and index + 1 < len(said):
            return said[index + 1]
        if word.startswith(name + "="):
            return word[len(name) + 1 :]
    return None
