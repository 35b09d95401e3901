"""Who the image runs as, and what that user may read and write."""

from __future__ import annotations

from pytest_amlimage.config.platform import ROOT_FIX, is_root
from pytest_amlimage.endpoint import start_script
from pytest_amlimage.endpoint.start_script import Runtime
from pytest_amlimage.engine.container import AmlContainer
from pytest_amlimage.errors import CheckFailed
from pytest_amlimage.probe import Facts
from pytest_amlimage.probe.shapes import RuntimeFolderDoc

LOG_TAIL = 400


def non_root(config_user: str, facts: Facts) -> None:
    """The image is configured for, and really runs as, a user other than uid 0."""
    if is_root(config_user):
        shown = (
            f"Config.User is {config_user!r}"
            if config_user
            else "Config.User is empty, which means root"
        )
        raise CheckFailed(f"image runs as root ({shown}); {ROOT_FIX}")
    if facts.uid is None:
        reason = f": {facts.python_error}" if facts.python_error else ""
        raise CheckFailed(
            f"could not read the uid inside the container (Config.User is {config_user!r}){reason}"
        )
    if facts.uid == 0:
        raise CheckFailed(
            f"image user {config_user!r} resolves to uid 0 inside the container; {ROOT_FIX}"
        )


def app_permissions(facts: Facts, runit: bool = True, seen: str | None = None) -> None:
    """The app root and model are readable, nothing under them world-writable, and what runit's services
    write is writable.

    ``runit``: the image starts under runsvdir (as Azure ML's bases do); otherwise its folders do not matter.
    ``seen``: a folder a service could not write, as the container's log says it (the witness: it fails
    the check even where the probe's reading of the modes missed it).
    """
    found = (_not_writable(facts, folder) for folder in (facts.runtime_folders if runit else ()))
    problems = [problem for problem in found if problem]
    for label, folder in sorted(facts.folders.items()):
        if not folder.get("exists"):
            continue
        if not folder.get("readable"):
            problems.append(f"{folder['path']} ({label}) is not readable by uid {facts.uid}")
        problems += [f"{path} is world-writable" for path in folder.get("world_writable", [])]
    problems += [f"the container's log says: {seen}"] if seen else []
    if problems:
        raise CheckFailed(
            "\n".join(problems)
            + "\nfix ownership and modes in the Dockerfile (COPY --chown=dockeruser, chmod o-w)"
        )


def ownership_seen(container: AmlContainer) -> str | None:
    """A folder the runtime user does not own, as a runit service's program said it in the log."""
    return start_script.ownership(container.logs(tail=LOG_TAIL), Runtime.of(container))


def _not_writable(facts: Facts, folder: RuntimeFolderDoc) -> str | None:
    """What is wrong with a folder a runit service writes, and the line that fixes it; None when nothing is."""
    if folder.get("writable"):
        return None
    # a uid without a name
    owner = facts.user_name or (facts.uid if facts.uid is not None else "dockeruser")
    writer = folder.get("needed_by") or "the supervisor"
    path = folder["path"]
    if folder.get("exists") is False:
        fix = f"RUN mkdir -p {path} && chown -R {owner} {path}"
        return f"{path} does not exist, but {writer} writes there: as root: {fix}"
    return (
        f"{path} is not writable by uid {facts.uid} (owner uid {folder['owner']}), but {writer} "
        f"writes there: as root: RUN chown -R {owner} {path}"
    )
