"""Build the local stand-ins for the Azure ML inference images.

Nothing can be pulled here, so the chain starts from Debian packages:
``debootstrap`` makes a root file system, ``docker import`` turns it into
``amlimage/debian:SUITE`` (bookworm; bullseye for Python 3.9, trixie for 3.13), and Dockerfiles
build the stand-ins on top.
Each image is tagged ``amlimage/NAME:latest`` and labelled with a hash of its
inputs (build context, build arguments and the parent image id): an image
whose hash is unchanged is not built again.

Usage: python scripts/standins.py [NAME ...]   (default: every image)
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import docker
from docker.errors import ImageNotFound

ROOT = Path(__file__).resolve().parent.parent
HASH_LABEL = "io.github.pytest-amlimage.standin-hash"
DEBIAN = "amlimage/debian"  # :SUITE
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")


@dataclass(frozen=True)
class StandIn:
    name: str
    context: Path
    parent: str = "minimal"  # another stand-in, or debian:SUITE
    buildargs: dict[str, str] = field(default_factory=dict)

    @property
    def tag(self) -> str:
        return f"amlimage/{self.name}:latest"


STANDINS = {
    s.name: s
    for s in (
        StandIn("minimal", ROOT / "standins/minimal", parent="debian:bookworm"),
        StandIn(
            "minimal-py39",
            ROOT / "standins/minimal",
            parent="debian:bullseye",
            buildargs={
                "PACKAGES": "azureml-inference-server-http==0.8.4.2 numpy==1.26.4 pandas==2.2.3"
            },
        ),
        StandIn(
            "minimal-py313",
            ROOT / "standins/minimal",
            parent="debian:trixie",
            buildargs={
                "PACKAGES": "azureml-inference-server-http==1.5.1 numpy==2.3.5 pandas==2.3.3"
            },
        ),
        StandIn("extended", ROOT / "examples/extend-prebuilt"),
        StandIn("rootuser", ROOT / "standins/rootuser"),
        StandIn("numpy2", ROOT / "standins/numpy2"),
        StandIn("sklearn", ROOT / "standins/sklearn"),
        StandIn("quirky", ROOT / "standins/quirky"),
        StandIn("nopython", ROOT / "standins/nopython", parent="debian:bookworm"),
        StandIn("extended-v2", ROOT / "standins/extended-v2", parent="extended"),
        StandIn("gpu", ROOT / "standins/gpu"),
        StandIn("gpu-mismatch", ROOT / "standins/gpu-mismatch", parent="gpu"),
        StandIn("aptpython", ROOT / "standins/aptpython"),
        StandIn("numpyabi", ROOT / "standins/numpyabi"),
        StandIn("runitroot", ROOT / "standins/runitroot", parent="extended"),
        StandIn("noserver", ROOT / "standins/noserver", parent="extended"),
        StandIn("moved", ROOT / "standins/moved", parent="extended"),
        StandIn("restarting", ROOT / "standins/restarting"),
        StandIn("cudaclaimed", ROOT / "standins/cudaclaimed"),
        StandIn("hazards", ROOT / "standins/hazards", parent="extended"),
        StandIn("byoc", ROOT / "standins/byoc"),
        StandIn("contrib", ROOT / "standins/contrib"),
        StandIn("azureml-core", ROOT / "standins/azureml-core"),
        StandIn("batch", ROOT / "standins/batch", parent="azureml-core"),
        StandIn("nginx-runit", ROOT / "standins/nginx-runit"),
        StandIn("mlflow", ROOT / "standins/mlflow", parent="nginx-runit"),
    )
}


# what running an example or a test leaves in a context folder: neither built from nor hashed
NOT_BUILT_FROM = (".pytest_cache", "__pycache__", "*.pyc", ".tox", ".git")


def built_from(folder: Path) -> list[Path]:
    """The files of a build context the image is built from, in order (what a run leaves there is not)."""
    ignored = shutil.ignore_patterns(*NOT_BUILT_FROM)
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(ignored("", [part]) for part in path.relative_to(folder).parts)
    )


def _hash_tree(digest: hashlib._Hash, folder: Path) -> None:
    for path in built_from(folder):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
        digest.update(oct(path.stat().st_mode & 0o777).encode())


def _existing_hash(client: docker.DockerClient, tag: str) -> str | None:
    try:
        return client.images.get(tag).labels.get(HASH_LABEL)
    except ImageNotFound:
        return None


def ensure_debian(client: docker.DockerClient, suite: str) -> str:
    """Import a minbase Debian root file system of ``suite`` once; its tag."""
    tag = f"{DEBIAN}:{suite}"
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="amlimage-rootfs-") as rootfs:
        print(f"standins: debootstrap {suite} into {rootfs}", flush=True)
        subprocess.run(
            ["debootstrap", "--variant=minbase", suite, rootfs],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        tar = subprocess.Popen(["tar", "-C", rootfs, "-c", "."], stdout=subprocess.PIPE)
        subprocess.run(
            ["docker", "import", "-", tag], stdin=tar.stdout, check=True, stdout=subprocess.DEVNULL
        )
        if tar.wait() != 0:
            raise SystemExit("standins: tar of the root file system failed")
    return tag


def _build(
    client: docker.DockerClient, standin: StandIn, parent_tag: str, content_hash: str
) -> None:
    with tempfile.TemporaryDirectory(prefix="amlimage-ctx-") as tmp:
        context = Path(tmp) / "ctx"
        ignored = shutil.ignore_patterns(*NOT_BUILT_FROM)
        shutil.copytree(standin.context, context, symlinks=True, ignore=ignored)
        shutil.copy(CA_BUNDLE, context / "ca-certificates.crt")
        stream = client.api.build(
            path=str(context),
            tag=standin.tag,
            buildargs={"BASE_IMAGE": parent_tag, **standin.buildargs},
            labels={HASH_LABEL: content_hash},
            network_mode="host",
            forcerm=True,
            rm=True,
            decode=True,
        )
        tail: list[str] = []
        for chunk in stream:
            if "error" in chunk:
                print("".join(tail[-30:]), file=sys.stderr)
                raise SystemExit(
                    f"standins: building {standin.name} failed: {chunk['error'].strip()}"
                )
            text = chunk.get("stream", "")
            tail.append(text)
            if text.startswith("Step "):
                print(f"standins: {standin.name}: {text.strip()}", flush=True)


def ensure(client: docker.DockerClient, name: str) -> str:
    """Build ``name`` (and its parents) unless its inputs are unchanged; return its tag."""
    if name.startswith("debian:"):
        return ensure_debian(client, name.split(":", 1)[1])
    standin = STANDINS[name]
    parent_tag = ensure(client, standin.parent)
    digest = hashlib.sha256(str(client.images.get(parent_tag).id).encode())
    digest.update(repr(sorted(standin.buildargs.items())).encode())
    digest.update(CA_BUNDLE.read_bytes())
    _hash_tree(digest, standin.context)
    content_hash = digest.hexdigest()[:16]
    if _existing_hash(client, standin.tag) != content_hash:
        print(f"standins: building {standin.tag}", flush=True)
        _build(client, standin, parent_tag, content_hash)
    return standin.tag


def main(names: list[str]) -> int:
    client = docker.from_env()
    for name in names or list(STANDINS):
        print(f"standins: {ensure(client, name)} ready", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
