"""Credentials the image carries: in its history, its configuration and its files; and in the Dockerfile built.

Read from the image itself at no cost on the hot path: the history and the configuration from the engine's
API, the files from the probe that already runs. Each finding names its kind, where it is (the history step
and its Dockerfile line where known, or the file), the value masked, and the fix. Names without values,
feed URLs without credentials and public certificates are not findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pytest_amlimage.engine.dockerfile import Dockerfile
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.masking import URL_CREDENTIALS, mask, masked
from pytest_amlimage.probe.inimage.credentials import TOKEN_SHAPES, placeholder
from pytest_amlimage.probe.shapes import CredentialsDoc

SECRET_NAME = re.compile(
    r"(_KEY|_SECRET|_TOKEN|PASSWORD|PASSWD|CONNECTION_STRING|INSTRUMENTATIONKEY|^TOKEN|_PAT|CREDENTIALS?)$",
    re.IGNORECASE,
)
NOT_SECRETS = {"GPG_KEY"}  # Docker's official Python images: a public key's fingerprint
TOKENS = (  # the probe's token shapes (one set of rules in the image and here), and what lines of text hold
    *TOKEN_SHAPES,
    (re.compile(r"-----BEGIN ((?:[A-Z]+ )*PRIVATE KEY)-----"), "a private key"),
    (re.compile(r"\b_authToken\s*=\s*([^\s$][^\s]*)"), "an npm token"),
    (re.compile(r"\bmachine\s+\S+\s+login\s+\S+\s+password\s+([^\s$]\S*)"), "a netrc password"),
)
# the classic builder's and BuildKit's record of a RUN's arguments
BUILD_ARGS = re.compile(r"^\|(\d+) ")
FIX = (
    "fix: pass it as a build secret mounted for one RUN (RUN --mount=type=secret,id=pip,target=/etc/pip.conf "
    "pip install ...), or use a multi-stage build whose final stage copies only what was installed; "
    "then revoke the credential, since every image pushed so far carries it"
)


def _in_text(text: str) -> Iterator[tuple[str, str]]:
    """(kind, masked value) of each credential a line of text holds: a URL's user information, a token."""
    in_urls = []
    for found in URL_CREDENTIALS.finditer(text):
        secret = found.group(2) or found.group(1)
        # a variable's name is not a value (given elsewhere: a build argument, a secret); a user alone neither
        if not secret.startswith("$") and (found.group(2) or len(secret) >= 20):
            in_urls.append(secret)
            yield "a URL with credentials", mask(secret)
    for pattern, kind in TOKENS:
        for found in pattern.finditer(text):
            value = found.group(found.lastindex or 0)
            # one finding per value; none for a placeholder or a published key (as the probe's scan)
            if not any(value in secret for secret in in_urls) and not placeholder(value):
                yield kind, "(key material)" if kind == "a private key" else mask(value)


def _build_arguments(created_by: str) -> Iterator[tuple[str, str]]:
    """The secret-named build arguments a RUN step used, as the history records them with their values."""
    counted = BUILD_ARGS.match(created_by)
    if counted is None:
        return
    for word in created_by[counted.end() :].split()[: int(counted.group(1))]:
        name, _, value = word.partition("=")
        if value and SECRET_NAME.search(name) and name not in NOT_SECRETS:
            yield f"the build argument {name}, recorded with its value", mask(value)


def _step(created_by: str, number: int, built_from: Dockerfile | None) -> str:
    """Where a history step is: its Dockerfile line when this run built the image from one, else its text."""
    for item in built_from.instructions if built_from else ():
        command = item["value"].strip()
        if item["instruction"] == "RUN" and command and command[:60] in created_by:
            return f"history step {number} ({built_from.where(item) if built_from else ''}: RUN)"
    shown = masked(re.sub(r"\s+", " ", created_by).strip())
    return f"history step {number} ({shown[:90]}{'...' if len(shown) > 90 else ''})"


def in_history(history: Sequence[str], built_from: Dockerfile | None = None) -> list[str]:
    """Credentials in the image's history: RUN lines, and the build arguments recorded with a step."""
    found = []
    for number, created_by in enumerate(history, 1):
        kinds = [*_build_arguments(created_by), *_in_text(created_by)]
        found += [
            f"{kind} {value} in {_step(created_by, number, built_from)}" for kind, value in kinds
        ]
    return found


def in_config(env: dict[str, str]) -> list[str]:
    """Credentials in the image's configuration: secret-named variables with values, and values with credentials."""
    named = [
        f"{name} looks like a secret baked into the image's configuration: anyone who can pull it can read it; "
        "set it at deployment time (environment_variables, or a key vault)"
        for name, value in sorted(env.items())
        if value and SECRET_NAME.search(name) and name not in NOT_SECRETS
    ]
    valued = [
        f"{kind} {value} in the image's configuration (ENV {name})"
        for name, text in sorted(env.items())
        for kind, value in _in_text(text)
    ]
    return named + valued


def in_files(credentials: CredentialsDoc, history: Sequence[str]) -> list[str]:
    """Credentials the probe found in the image's files, each with the history step that names its file."""
    found = []
    for item in credentials.get("findings", []):
        path, value = str(item["path"]), str(item["value"])
        named = [n for n, text in enumerate(history, 1) if path in text]
        same = [
            n for n, text in enumerate(history, 1) if any(v == value for _, v in _in_text(text))
        ]
        where = (
            f", written by history step {named[-1]}"
            if named
            else f", the value of history step {same[-1]}"
            if same
            else ""
        )
        found.append(f"{item['what']} {item['value']} in {path}:{item['line']}{where}")
    return found


def secrets(
    env: dict[str, str],
    history: Sequence[str],
    credentials: CredentialsDoc,
    built_from: Dockerfile | None = None,
) -> None:
    """No credential in the image's history, configuration or files."""
    problems = in_history(history, built_from) + in_config(env) + in_files(credentials, history)
    if problems:
        raise CheckFailed("\n".join(problems) + "\n" + FIX)


READ_LIMIT = 262144  # bytes of a copied file read for credentials


def _copied_texts(dockerfile: Dockerfile, value: str) -> Iterator[tuple[str, str]]:
    """(name, text) of each small file a COPY or ADD takes from the build context (folders walked)."""
    for source in [w for w in value.split() if not w.startswith("--")][:-1]:
        local = dockerfile.context / source
        files = sorted(p for p in local.rglob("*") if p.is_file()) if local.is_dir() else [local]
        for path in files:
            if path.is_file() and path.stat().st_size <= READ_LIMIT:
                yield (
                    path.relative_to(dockerfile.context).as_posix(),
                    path.read_text(errors="replace"),
                )


def in_dockerfile(dockerfile: Dockerfile) -> None:
    """The same rules on the Dockerfile --aml-build builds: RUN lines, ARG defaults, ENV values, copied files."""
    problems = []
    for item in dockerfile.instructions:
        instruction, value, where = item["instruction"], item["value"], dockerfile.where(item)
        problems += [f"{where}: {kind} {shown} in {instruction}" for kind, shown in _in_text(value)]
        if instruction in ("ARG", "ENV"):
            for word in value.split():
                name, _, given = word.partition("=")
                if given.strip("\"'") and SECRET_NAME.search(name) and name not in NOT_SECRETS:
                    problems.append(
                        f"{where}: {instruction} {name} has a value: the image keeps it"
                    )
        if instruction in ("COPY", "ADD") and "--from" not in value:
            problems += [
                f"{where}: {instruction} {name}: {kind} {shown} in the file, which stays in its layer even if a "
                "later step deletes it"
                for name, text in _copied_texts(dockerfile, value)
                for kind, shown in _in_text(text)
            ]
    if problems:
        raise CheckFailed("\n".join(problems) + "\n" + FIX)
