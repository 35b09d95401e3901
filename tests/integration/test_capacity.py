"""The capacity run on real containers: a CPU-bound model measured as a plain client measures it, a waiting one
gaining from more workers than vCPUs, a deployment that would throttle its own load, a slower upgrade, and the
time budget kept."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import APPS, deployment_yaml, expect, run_built

# measured throughput: tox runs these alone, after the rest, so that no other test shares the CPUs
pytestmark = [pytest.mark.engine, pytest.mark.capacity]
SAMPLE = Path(__file__).resolve().parent / "samples" / "numbers.json"


def capacity_run(
    run_plugin: Any, pytester: pytest.Pytester, *args: str
) -> tuple[Any, dict[str, Any]]:
    """The plugin with --aml-capacity and a JSON report; the result and the report's capacity section."""
    report = pytester.path / "report.json"
    result = run_plugin(
        f"--aml-sample={SAMPLE}",
        "--aml-capacity",
        f"--aml-report={report}",
        "-k",
        "capacity",
        *args,
    )
    images = json.loads(report.read_text())["images"]
    (found,) = [image["capacity"] for image in images.values() if image.get("capacity")]
    return result, found


def row(found: dict[str, Any], workers: int) -> dict[str, Any]:
    return next(r for r in found["rows"] if r["worker_count"] == workers)


def by_hand(engine: Any, image: str, app: str, seconds: float = 6.0) -> float:
    """A plain closed-loop client, one request after another, against the image served as the capacity run
    serves it on a 1-vCPU type (one worker, one CPU): requests a second."""
    container = engine.containers.run(
        image,
        detach=True,
        environment={
            "AML_APP_ROOT": f"/var/azureml-app/{app}",
            "AZUREML_ENTRY_SCRIPT": "score.py",
            "WORKER_COUNT": "1",
        },
        volumes={str(APPS / app): {"bind": f"/var/azureml-app/{app}", "mode": "ro"}},
        nano_cpus=10**9,
        ports={"5001/tcp": ("127.0.0.1", None)},
    )
    try:
        container.reload()
        port = container.ports["5001/tcp"][0]["HostPort"]
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.1)
        body, done = SAMPLE.read_bytes(), 0
        with requests.Session() as http:
            for _ in range(20):  # warm-up
                http.post(f"{url}/score", data=body, headers={"Content-Type": "application/json"})
            started = time.perf_counter()
            while time.perf_counter() - started < seconds:
                answer = http.post(
                    f"{url}/score", data=body, headers={"Content-Type": "application/json"}
                )
                done += answer.status_code == 200
        return done / (time.perf_counter() - started)
    finally:
        container.remove(force=True)


def test_a_cpu_bound_model_measures_as_a_plain_client_and_more_workers_add_nothing(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], engine: Any
) -> None:
    """20 ms of CPU a request on a 1-vCPU type: one worker's highest throughput is what a plain client measures
    (within 15 %; 1 / 20 ms is only an upper bound), and a second worker adds at most 10 %. No false alarm:
    capacity passes, within its budget."""
    script = f"--aml-entry-script={APPS / 'cpu_bound' / 'score.py'}"
    budget = 30
    result, found = capacity_run(
        run_plugin,
        pytester,
        f"--aml-image={images['minimal']}",
        script,
        "--aml-instance-type=Standard_DS1_v2",
        f"--aml-capacity-budget={budget}",
    )
    expect(result, passed=["capacity"])
    one, two = row(found, 1), row(found, 2)
    hand = by_hand(engine, images["minimal"], "cpu_bound")
    assert abs(one["max_rps"] - hand) <= 0.15 * hand, (one, hand)
    assert one["max_rps"] <= 50  # 1 / 20 ms
    assert two["max_rps"] <= 1.10 * one["max_rps"], (one, two)
    assert found["recommendation"]["worker_count"] == 1
    (took,) = found["types"]
    assert (
        took["seconds"] <= budget + 5
    )  # the budget, and the start of the container it was spent in
    result.stdout.fnmatch_lines(
        ["*amlimage: capacity Standard_DS1_v2 WORKER_COUNT=1 concurrency 1: *req/s*"]
    )
    result.stdout.fnmatch_lines(
        ["*Standard_DS1_v2: * s, stopped: *", "*workers  max req/s  p50 ms*"]
    )


def test_a_waiting_model_gains_from_more_workers_than_vcpus(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """100 ms of waiting a request, no CPU: throughput grows about linearly with workers on one vCPU, and the
    recommendation says more workers than vCPUs (found from the measurements)."""
    _, found = capacity_run(
        run_plugin,
        pytester,
        f"--aml-image={images['minimal']}",
        f"--aml-entry-script={APPS / 'waiting' / 'score.py'}",
        "--aml-instance-type=Standard_DS1_v2",
        "--aml-capacity-budget=45",
    )
    one, four = row(found, 1)["max_rps"], row(found, 4)["max_rps"]
    assert one < 12 and four >= 3 * one, found["rows"]
    assert found["recommendation"]["worker_count"] > 1  # Standard_DS1_v2 has 1 vCPU


def test_a_deployment_that_would_throttle_its_own_load_fails_capacity(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    """max_concurrent_requests_per_instance 1 lets 2 requests in flight; 20 req/s of 100 ms requests are 2 or
    more: the platform would answer 429. Named with the setting's line and the value that avoids it."""
    extra = "instance_type: Standard_DS1_v2\nrequest_settings:\n  max_concurrent_requests_per_instance: 1\n"
    args = deployment_yaml(pytester, images["minimal"], "waiting", extra=extra)
    result, _ = capacity_run(
        run_plugin, pytester, args, "--aml-target-rps=20", "--aml-capacity-budget=25"
    )
    expect(result, failed=["capacity"])
    result.stdout.fnmatch_lines(
        [
            "capacity: max_concurrent_requests_per_instance 1 (deployment.yml:*) lets 2 requests in flight "
            "per instance, but at * req/s and * ms each * are (Little's law): the platform would answer 429 "
            "*; set max_concurrent_requests_per_instance to *"
        ]
    )


@pytest.mark.parametrize(("cost_ms", "outcome"), [(40, "failed"), (20, "passed")])
def test_a_slower_candidate_fails_baseline_throughput_and_an_equal_one_passes(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], cost_ms: int, outcome: str
) -> None:
    """The baseline spends 20 ms a request. A candidate spending 40 has half the throughput, past 1.3x; one
    spending the same 20 raises no alarm."""
    result = run_built(
        run_plugin,
        pytester,
        f"FROM {images['minimal']}\nENV COST_MS={cost_ms}\n",
        f"--aml-baseline={images['minimal']}",
        f"--aml-entry-script={APPS / 'cpu_bound' / 'score.py'}",
        f"--aml-sample={SAMPLE}",
        "--aml-capacity",
        "--aml-instance-type=Standard_DS1_v2",
        "--aml-capacity-budget=12",
        "--aml-max-slowdown=1.3",
        "-k",
        "throughput",
    )
    expect(result, **{outcome: ["baseline[throughput]"]})
    if outcome == "failed":
        result.stdout.fnmatch_lines(
            [
                f"baseline[[]throughput[]]: Standard_DS1_v2, WORKER_COUNT=1: * req/s, *x slower than baseline "
                f"{images['minimal']}'s * req/s (limit --aml-max-slowdown 1.3)"
            ]
        )
