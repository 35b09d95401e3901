"""How each kind of option value is read (numbers, sizes, flags, paths, an engine's address), one function a
kind; every error names the source the bad value came from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pytest_amlimage.config import instance_types
from pytest_amlimage.errors import AmlUsageError

# str/list: text; float/int: non-negative numbers; positive: a number above 0 (seconds, CPUs, a factor);
# port: 1 to 65535; size: a memory size (512m, 4g, 2Gi); flag: on or off;
# path/paths: existing files or folders; file: an existing file (a folder is refused);
# outpath/outpaths: files to write (their folder must exist);
# engine: a Docker engine's address as DOCKER_HOST takes it (unix://, tcp://HOST:PORT, ssh://, npipe://).
Kind = Literal[
    "str",
    "list",
    "float",
    "int",
    "positive",
    "port",
    "size",
    "flag",
    "path",
    "file",
    "paths",
    "outpath",
    "outpaths",
    "engine",
]


class Described(Protocol):
    """What a reader needs of its option (``options.Option`` is one)."""

    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> Kind: ...
    @property
    def default(self) -> str | float | int | bool | None: ...
    @property
    def repeatable(self) -> bool: ...


@dataclass(frozen=True)
class Found:
    """A value as a source gave it: ``source`` names it in errors, ``base`` anchors relative paths."""

    value: object
    source: str
    base: Path


def _number(option: Described, found: Found) -> float:
    """A number of the option's kind; ints and ports whole, positives above 0, ports 1 to 65535."""
    whole = option.kind in ("int", "port")
    try:
        number = (int if whole else float)(str(found.value).strip())
    except (TypeError, ValueError):
        example = option.default if option.default is not None else 1
        what = "a whole number" if whole else "a number"
        raise AmlUsageError(
            f"{found.source} {found.value!r} is not {what}: give e.g. {example}"
        ) from None
    if not math.isfinite(number):
        raise AmlUsageError(f"{found.source} {found.value!r} is not a finite number: give e.g. 1")
    if number < 0:
        raise AmlUsageError(f"{found.source} {found.value!r} must not be negative")
    if option.kind == "positive" and number == 0:
        raise AmlUsageError(f"{found.source} {found.value!r} must be above 0")
    if option.kind == "port" and not 1 <= number <= 65535:
        raise AmlUsageError(f"{found.source} {found.value!r} is not a port: give 1 to 65535")
    return number


def _size(found: Found) -> int:
    """A memory size in bytes: the deployment YAML's already are; an option's is Docker's (512m, 4g) or
    Kubernetes' binary units (2Gi)."""
    value = found.value
    size = value if isinstance(value, int) else instance_types.memory_bytes(str(value))
    if size is None or size < instance_types.LEAST_MEMORY:
        raise AmlUsageError(
            f"{found.source} {found.value!r} is not a memory size: give e.g. 512m or 4g (at least 6m)"
        )
    return size


def _engine(found: Found) -> str:
    """A Docker engine's address, read by the Docker SDK's own parser (what DOCKER_HOST may hold)."""
    from docker.errors import DockerException
    from docker.utils import parse_host

    text = str(found.value).strip()
    try:
        parse_host(text, is_win32=False, tls=False)
    except (DockerException, ValueError) as error:
        raise AmlUsageError(
            f"{found.source} {found.value!r} is not a Docker engine's address ({error}): give e.g. "
            "unix:///var/run/docker.sock, tcp://HOST:2375 or ssh://USER@HOST"
        ) from None
    return text


FLAG_WORDS = {
    "true": True,
    "yes": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "off": False,
    "0": False,
}


def _flag(found: Found) -> bool:
    """On or off: a boolean, or a word that says so (true/false, yes/no, on/off, 1/0)."""
    if isinstance(found.value, bool):
        return found.value
    word = FLAG_WORDS.get(str(found.value).strip().lower())
    if word is None:
        raise AmlUsageError(f"{found.source} {found.value!r} is not on or off: give true or false")
    return word


def _path(found: Found, text: str, must_exist: bool, file: bool = False) -> Path:
    path = (found.base / text).resolve()
    if must_exist and not path.exists():
        raise AmlUsageError(f"{path} (from {found.source}) does not exist: check the path")
    if file and path.is_dir():
        raise AmlUsageError(f"{path} (from {found.source}) is a folder: name the file in it")
    if not must_exist and not path.parent.is_dir():
        raise AmlUsageError(f"{path.parent} (from {found.source}) is not a folder: check the path")
    return path


SCALARS = (str, int, float)


def _shape(option: Described, found: Found) -> None:
    """A spec file's value of the wrong type: a table, a list for one value, a number for a list."""
    value = found.value
    if option.repeatable:
        fits = isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, SCALARS) for item in value)
        )
        wanted = f'a list, e.g. {option.name} = ["..."]'
    else:
        fits = isinstance(value, (*SCALARS, bool))
        wanted = f'one value, e.g. {option.name} = "..."'
    if not fits:
        raise AmlUsageError(f"{found.source} {value!r} is not {wanted}")


def _texts(found: Found) -> list[str]:
    value = found.value
    if isinstance(value, list):
        return [str(item) for item in value]
    return [str(value)]


# the readers: one a type of value, each given the option and what a source gave (None: no source did)
def text(option: Described, found: Found | None) -> str | None:
    if found is None:
        return None if option.default is None else str(option.default)
    _shape(option, found)
    return str(found.value).strip()


def engine(option: Described, found: Found | None) -> str | None:
    if found is None:
        return None
    _shape(option, found)
    return _engine(found)


def texts(option: Described, found: Found | None) -> tuple[str, ...]:
    if found is None:
        return ()
    _shape(option, found)
    return tuple(_texts(found))


def number(option: Described, found: Found | None) -> float:
    if found is not None:
        _shape(option, found)
    return _number(option, found or Found(option.default, "the default", Path.cwd()))


def whole_number(option: Described, found: Found | None) -> int:
    """An ``int`` or ``port`` option: ``_number`` refuses a fraction for these kinds."""
    return int(number(option, found))


def optional_number(option: Described, found: Found | None) -> float | None:
    return None if found is None and option.default is None else number(option, found)


def size(option: Described, found: Found | None) -> int:
    if found is None:
        return _size(Found(option.default, "the default", Path.cwd()))
    _shape(option, found)
    return _size(found)


def flag(option: Described, found: Found | None) -> bool:
    if found is None:
        return bool(option.default)
    _shape(option, found)
    return _flag(found)


def path(option: Described, found: Found | None) -> Path | None:
    if found is None:
        return None
    _shape(option, found)
    kind = option.kind
    return _path(found, str(found.value), kind != "outpath", file=kind == "file")


def paths(option: Described, found: Found | None) -> tuple[Path, ...]:
    if found is None:
        return ()
    _shape(option, found)
    must_exist = option.kind == "paths"
    return tuple(_path(found, text, must_exist=must_exist) for text in _texts(found))
