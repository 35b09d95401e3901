"""Credentials left in files of the image (a part of the probe script; in the image, Python 3.7+).

Reads the configuration files that hold credentials by their names (pip, conda, netrc, git, npm, Docker,
Azure CLI, SSH keys) in the home folders, ``/root``, ``/etc`` and the app root, and any small file there
that holds a PEM private key. A finding keeps only a masked value. A public certificate, a feed URL
without credentials, or code that mentions passwords is not a finding: only values in the places
those tools read them count. Folders the runtime user cannot read are listed, not guessed.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..shapes import CredentialsDoc, FindingDoc


SCAN_LIMIT = 5000  # entries walked per root
READ_LIMIT = 262144  # bytes: larger files (models, wheels) are not configuration
SNIFF_LIMIT = 16384  # bytes: a file of another name is read for a PEM private key up to this size
USERINFO = re.compile(
    r"\b[a-z][a-z0-9+.-]*://([^/\s:@'\"]+)(?::([^/\s@'\"]*))?@[^\s'\"]+", re.IGNORECASE
)
PRIVATE_KEY = re.compile(r"-----BEGIN ((?:[A-Z]+ )*PRIVATE KEY)-----")
NAMED = {
    "pip.conf": "pip configuration",
    "pip.ini": "pip configuration",
    ".condarc": "conda configuration",
    "condarc": "conda configuration",
    ".netrc": "netrc",
    ".git-credentials": "git credentials",
    ".npmrc": "npm configuration",
    "config.json": "Docker credentials",  # only under a .docker folder
    "msal_token_cache.json": "Azure CLI token cache",
    "accessTokens.json": "Azure CLI token cache",
    "service_principal_entries.json": "Azure CLI service principal",
}
NPM_TOKEN = re.compile(r"(_authToken|_auth|_password)\s*=\s*(\S+)")
NETRC_PASSWORD = re.compile(r"\b(password)\s+(\S+)")  # group 1 names, the last one is the value
DOCKER_AUTH = re.compile(r'"(auth|identitytoken)"\s*:\s*"([^"]+)"')
AZURE_TOKEN = re.compile(
    r'"(refresh_token|secret|accessToken|client_secret)"\s*:\s*"([^"]+)"', re.IGNORECASE
)
SSH_KEY = re.compile(r"^id_(rsa|dsa|ecdsa|ed25519)(_sk)?$")


def mask(value: str) -> str:
    """What a finding shows of a secret: its first characters and its length."""
    return (value[:3] + "***" if len(value) > 8 else "***") + f" ({len(value)} characters)"


def _values(kind: str, name: str, text: str) -> list[tuple[str, str, int]]:
    """(what, masked value, line) of each credential in one file's text."""
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        for match in USERINFO.finditer(line):
            secret = match.group(2) or match.group(1)
            if match.group(2) is not None or len(secret) >= 20:  # a user alone is not a secret
                found.append((f"a URL with credentials in {kind}", mask(secret), number))
        checks = (
            (NPM_TOKEN, kind == "npm configuration"),
            (NETRC_PASSWORD, kind == "netrc"),
            (DOCKER_AUTH, kind == "Docker credentials"),
            (AZURE_TOKEN, kind.startswith("Azure CLI")),
        )
        for pattern, applies in checks:
            for match in pattern.finditer(line) if applies else ():
                found.append(
                    (f"{match.group(1)} in {kind}", mask(match.group(match.lastindex or 1)), number)
                )
    key = PRIVATE_KEY.search(text)
    if key or (SSH_KEY.match(name) and "PRIVATE" in text):
        found.append((f"a {key.group(1) if key else 'private key'}", "(key material)", 1))
    return found


def _kind(path: str) -> str | None:
    name = os.path.basename(path)
    kind = NAMED.get(name)
    if name == "config.json" and os.path.basename(os.path.dirname(path)) != ".docker":
        return None
    if kind is None and SSH_KEY.match(name):
        return "SSH key"
    return kind


def _scan_file(path: str) -> list[FindingDoc]:
    kind = _kind(path)
    try:
        if os.path.islink(path) or os.path.getsize(path) > (READ_LIMIT if kind else SNIFF_LIMIT):
            return []
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return []
    if kind is None and "PRIVATE KEY-----" not in text:
        return []
    return [
        {"path": path, "line": line, "what": what, "value": value}
        for what, value, line in _values(kind or "a file", os.path.basename(path), text)
    ]


def _roots(app_root: str) -> list[str]:
    homes = [os.path.join("/home", name) for name in _listdir("/home")]
    return [root for root in (*homes, "/root", "/etc", app_root) if os.path.isdir(root)]


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def credentials(app_root: str) -> CredentialsDoc:
    """Every credential found in the files of the image the runtime user can read, and what it could not read."""
    findings: list[FindingDoc] = []
    unreadable: list[str] = []
    for root in _roots(app_root):
        if not os.access(root, os.R_OK | os.X_OK):
            unreadable.append(root)
            continue
        seen = 0
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
            for name in files:
                seen += 1
                findings += _scan_file(os.path.join(folder, name))
            if seen > SCAN_LIMIT:
                break
    return {"findings": findings, "unreadable": unreadable}
