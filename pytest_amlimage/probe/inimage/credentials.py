"""Credentials left in files of the image (a part of the probe script; in the image, Python 3.7+).

Reads the configuration files that hold credentials by their names (pip, conda, netrc, git, npm, Docker,
Azure CLI, SSH keys) in the home folders, ``/root``, ``/etc``, the app root and the model folder, and any
small file there that holds a PEM private key. Every other text file of the app root, the model folder and
the home folders (installed packages and caches aside) is read for the token shapes below: a storage
connection string in a JSON settings file, a SAS URL in a YAML config. A finding keeps only a masked value.
A public certificate, a feed URL without credentials, a placeholder (``<key>``, ``${KEY}``, AWS's
``...EXAMPLE`` key, the storage emulator's published key) or code that mentions passwords is not a finding.
Folders the runtime user cannot read are listed, not guessed.

The token shapes follow Yelp/detect-secrets' regex plugins, narrowed to what a value looks like:
``AzureStorageKeyDetector`` (an ``AccountKey=`` of base64, here from 40 characters, not only 88),
``AWSKeyDetector`` (``AKIA`` and 16 more), ``GitHubTokenDetector`` (``ghp_``/``gho_``/``ghu_``/``ghs_``/``ghr_``
and fine-grained ``github_pat_``), ``BasicAuthDetector`` (a URL's ``user:password@``), ``PrivateKeyDetector``
(a PEM ``PRIVATE KEY`` block); and a SAS URL's ``sig=``, which detect-secrets leaves to its high-entropy
plugins. Its keyword and entropy plugins are left out: they flag names and hashes, not credentials.
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
TOKEN_SHAPES = (  # (pattern, what): the value is the last group
    (re.compile(r"AccountKey=([A-Za-z0-9+/]{40,}={0,2})"), "an Azure storage account key"),
    (re.compile(r"SharedAccessKey=([A-Za-z0-9+/]{40,}={0,2})"), "an Azure shared access key"),
    (re.compile(r"[?&;]sig=([A-Za-z0-9%+/]{20,}={0,2})"), "an Azure SAS signature"),
    (re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{36,})\b"), "a GitHub token"),
    (re.compile(r"\b(github_pat_[A-Za-z0-9_]{50,})\b"), "a GitHub token"),
    (re.compile(r"\b(AKIA[0-9A-Z]{16})\b"), "an AWS access key"),
)
# a value written to be replaced, or published for all to use, is no credential
PLACEHOLDER = re.compile(
    r"[<>{}$*]|EXAMPLE|example|your|YOUR|xxxx|XXXX|changeme|placeholder|\.\.\."
)
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def placeholder(value: str) -> bool:
    """``<key>``, ``${KEY}``, AWS's ``...EXAMPLE`` key, ``xxxx``, the storage emulator's published key."""
    return bool(PLACEHOLDER.search(value)) or value == AZURITE_KEY or len(set(value)) <= 4


TEXT_SKIPPED = {"site-packages", "dist-packages", "node_modules", ".cache", "__pycache__", ".git"}
TEXT_BUDGET = 16 * 1024 * 1024  # bytes of ordinary text files read in all, so the probe stays quick


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
        found += [(what, mask(value), number) for what, value in _tokens(line)]
    key = PRIVATE_KEY.search(text)
    if key or (SSH_KEY.match(name) and "PRIVATE" in text):
        found.append((f"a {key.group(1) if key else 'private key'}", "(key material)", 1))
    return found


def _tokens(line: str) -> list[tuple[str, str]]:
    """(what, value) of each token shape on a line, placeholders and published values left out."""
    found = []
    for pattern, what in TOKEN_SHAPES:
        for match in pattern.finditer(line):
            value = match.group(match.lastindex or 0)
            if not placeholder(value):
                found.append((what, value))
    return found


def _kind(path: str) -> str | None:
    name = os.path.basename(path)
    kind = NAMED.get(name)
    if name == "config.json" and os.path.basename(os.path.dirname(path)) != ".docker":
        return None
    if kind is None and SSH_KEY.match(name):
        return "SSH key"
    return kind


def _scan_file(path: str, any_text: bool = False) -> tuple[list[FindingDoc], int]:
    """The credentials of one file, and the bytes read: a known one read whole, any text file too when
    ``any_text`` (binaries are skipped), any other small file for a PEM private key."""
    kind = _kind(path)
    limit = READ_LIMIT if kind or any_text else SNIFF_LIMIT
    try:
        if os.path.islink(path) or os.path.getsize(path) > limit:
            return [], 0
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError:
        return [], 0
    if kind is None and b"\0" in data[:8192]:
        return [], len(data)  # a binary (a model, a wheel): not configuration
    text = data.decode("utf-8", "replace")
    if kind is None and not any_text and "PRIVATE KEY-----" not in text:
        return [], len(data)
    found: list[FindingDoc] = []
    seen = set()
    for what, value, line in _values(kind or "a file", os.path.basename(path), text):
        if (value, line) not in seen:  # one value, one finding (a token in a feed URL is both)
            seen.add((value, line))
            found.append({"path": path, "line": line, "what": what, "value": value})
    return found, len(data)


def _roots(app_root: str, model_dir: str | None) -> list[tuple[str, bool]]:
    """(folder, read any text file) of each folder read: the homes, the app and the model wholly; /etc for the
    files known to hold credentials."""
    homes = [os.path.join("/home", name) for name in _listdir("/home")]
    texts = [*homes, "/root", app_root, *([model_dir] if model_dir else [])]
    found = [(root, True) for root in texts] + [("/etc", False)]
    return [(root, whole) for root, whole in found if os.path.isdir(root)]


def _listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def credentials(app_root: str, model_dir: str | None = None) -> CredentialsDoc:
    """Every credential found in the files of the image the runtime user can read, and what it could not read."""
    return scan(_roots(app_root, model_dir))


def scan(roots: list[tuple[str, bool]]) -> CredentialsDoc:
    """The credentials in the files below each root (with any text file read where the root says so)."""
    findings: list[FindingDoc] = []
    unreadable: list[str] = []
    budget = TEXT_BUDGET
    for root, whole in roots:
        if not os.access(root, os.R_OK | os.X_OK):
            unreadable.append(root)
            continue
        seen = 0
        for folder, dirs, files in os.walk(root):
            dirs[:] = [
                d
                for d in dirs
                if not os.path.islink(os.path.join(folder, d)) and not (whole and d in TEXT_SKIPPED)
            ]
            for name in files:
                seen += 1
                any_text = whole and budget > 0
                found, read = _scan_file(os.path.join(folder, name), any_text)
                findings += found
                budget -= read if any_text else 0
            if seen > SCAN_LIMIT:
                break
    return {"findings": findings, "unreadable": unreadable}
