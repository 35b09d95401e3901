"""The CPU time a container has used, read from this machine's side where the engine is local (its cgroup's
counter: cgroup v2 ``cpu.stat``, v1 ``cpuacct.usage``); None elsewhere."""

from __future__ import annotations

from pathlib import Path

# (file, unit in seconds): v2 under systemd and under cgroupfs, v1 under cgroupfs and under systemd
HOST_COUNTERS = (
    ("{root}/system.slice/docker-{id}.scope/cpu.stat", 1e-6),
    ("{root}/docker/{id}/cpu.stat", 1e-6),
    ("{root}/cpuacct/docker/{id}/cpuacct.usage", 1e-9),
    ("{root}/cpu,cpuacct/docker/{id}/cpuacct.usage", 1e-9),
    ("{root}/cpuacct/system.slice/docker-{id}.scope/cpuacct.usage", 1e-9),
)


def cpu_seconds(container_id: str, root: str = "/sys/fs/cgroup") -> float | None:
    """CPU seconds the container's processes have used so far; None where no counter is in sight."""
    for path, unit in HOST_COUNTERS:
        try:
            text = Path(path.format(root=root, id=container_id)).read_text()
        except OSError:
            continue
        if path.endswith("cpu.stat"):
            fields = dict(line.split() for line in text.splitlines() if len(line.split()) == 2)
            value = fields.get("usage_usec")
        else:
            value = text.strip()
        if value is not None and value.isdigit():
            return int(value) * unit
    return None
