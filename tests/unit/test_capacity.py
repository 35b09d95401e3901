"""The capacity check on synthetic measurements: the best worker count, the recommendation, the failures (nothing
within the bound, a deployment that would throttle itself), estimates and the generator's limit; the report's
interface; and the load generator against a server of this process."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from pytest_amlimage.checks import capacity as check
from pytest_amlimage.checks.check import CapacityFigures
from pytest_amlimage.config import instance_types
from pytest_amlimage.endpoint.capacity import TypeCapacity, WorkerRun
from pytest_amlimage.endpoint.load import Step, closed_loop
from pytest_amlimage.errors import CheckFailed, NotApplicable
from pytest_amlimage.run.report import RunReport, capacity_chart, capacity_lines

DS1 = instance_types.find("Standard_DS1_v2")
DS3 = instance_types.find("Standard_DS3_v2")
BOUND = check.Bound(5000, "request_timeout_ms")


def step(concurrency: int, rps: float, ms: float, **more: object) -> Step:
    return Step(concurrency, rps, tuple([ms] * 20), **more)  # type: ignore[arg-type]


def run(workers: int, rps: float, ms: float, cpu: float = 50.0, **more: object) -> WorkerRun:
    best = step(workers, rps, ms)
    return WorkerRun(workers, (best,), best, cpu, 100 << 20, **more)  # type: ignore[arg-type]


def measured(
    instance: object, *runs: WorkerRun, cores: float = 1, estimate: str | None = None
) -> TypeCapacity:
    return TypeCapacity(instance, cores, runs, 10.0, "throughput stopped rising", estimate)  # type: ignore[arg-type]


def test_the_best_is_the_fewest_workers_within_ten_percent_of_the_top() -> None:
    found = measured(DS1, run(1, 45, 22), run(2, 47, 42), run(4, 46, 80))
    assert found.best is not None and found.best.workers == 1
    waits = measured(DS1, run(1, 9.5, 105), run(2, 19, 105), run(4, 38, 105), run(8, 40, 200))
    assert waits.best is not None and waits.best.workers == 4


def test_a_target_is_met_with_the_fewest_vcpus_and_core_hours_are_the_cost() -> None:
    found = {
        "Standard_DS1_v2": measured(DS1, run(1, 45, 22)),
        "Standard_DS3_v2": measured(DS3, run(2, 200, 10)),
    }
    figures = check.capacity("img:1", found, BOUND, 100, None)
    picks = {p["instance_type"]: p for p in figures.per_type}
    assert picks["Standard_DS1_v2"]["instance_count"] == 3  # ceil(100 / 45)
    assert picks["Standard_DS3_v2"]["instance_count"] == 1
    assert figures.recommendation is not None
    assert figures.recommendation["instance_type"] == "Standard_DS1_v2"  # 3 vCPUs in all, not 4
    assert picks["Standard_DS1_v2"]["core_hours_per_million"] == pytest.approx(
        1e6 / (45 * 3600), abs=1e-3
    )


def test_without_a_target_the_most_throughput_a_vcpu_is_recommended() -> None:
    found = {
        "Standard_DS1_v2": measured(DS1, run(1, 45, 22)),
        "Standard_DS3_v2": measured(DS3, run(2, 120, 10)),
    }
    figures = check.capacity("img:1", found, BOUND, None, None)
    assert figures.recommendation is not None
    assert figures.recommendation["instance_type"] == "Standard_DS1_v2"  # 45 a vCPU against 30


def test_one_request_at_a_time_over_the_bound_fails_naming_it() -> None:
    slow = WorkerRun(1, (step(1, 0.1, 9000),))
    with pytest.raises(
        CheckFailed, match="^one request at a time already exceeds the latency bound: p95 9000 ms"
    ):
        check.capacity("img:1", {"Standard_DS1_v2": measured(DS1, slow)}, BOUND, None, None)
    with pytest.raises(
        CheckFailed, match=r"^no instance type in scope \(Standard_DS1_v2\) serves 10 req/s"
    ):
        check.capacity("img:1", {"Standard_DS1_v2": measured(DS1, slow)}, BOUND, 10, None)


def test_a_deployment_that_lets_too_few_requests_in_flight_fails_naming_the_setting() -> None:
    found = {"Standard_DS1_v2": measured(DS1, run(4, 38, 200))}
    deployed = check.Deployed("Standard_DS1_v2", 4, 1, 1, "deployment.yml:9")
    with pytest.raises(CheckFailed) as failed:
        check.capacity("img:1", found, BOUND, 20, deployed)
    assert str(failed.value).startswith(
        "max_concurrent_requests_per_instance 1 (deployment.yml:9) lets 2 requests in flight per instance, "
        "but at 20.0 req/s and 200 ms each 4.0 are"
    )
    assert str(failed.value).endswith("set max_concurrent_requests_per_instance to 2")
    enough = check.Deployed("Standard_DS1_v2", 4, 2, 1, "deployment.yml:9")
    check.capacity("img:1", found, BOUND, 20, enough)  # no alarm: 4 in flight, 4 let in


def test_workers_left_unused_are_a_warning() -> None:
    found = {"Standard_DS1_v2": measured(DS1, run(1, 9.5, 105), run(2, 19, 105), run(4, 38, 105))}
    deployed = check.Deployed("Standard_DS1_v2", 1, 8, 1, "the platform's default")
    with pytest.warns(
        pytest.PytestWarning, match="WORKER_COUNT=1 serves 9.5 req/s .* WORKER_COUNT=4 served 38.0"
    ):
        check.capacity("img:1", found, BOUND, None, deployed)


def test_a_figure_beyond_the_cores_is_estimated_only_where_cpu_bound() -> None:
    rule = "measured on 1 of 4 vCPUs"
    busy = measured(DS3, run(1, 45, 22, cpu=99.0), cores=1, estimate=rule)
    waiting = measured(DS3, run(1, 9.5, 105, cpu=3.0), cores=1, estimate=rule)
    assert busy.claimed(busy.runs[0]) == pytest.approx(180)  # 45 x 4 / 1
    assert waiting.claimed(waiting.runs[0]) == pytest.approx(9.5)
    (row,) = check.rows({"Standard_DS3_v2": busy})[0]
    assert row["estimated"] is True and row["estimate_rule"] == rule and row["max_rps"] == 180


def test_the_generators_limit_is_not_claimed() -> None:
    starved = run(1, 45, 22, generator_bound=True)
    found = {"Standard_DS1_v2": measured(DS1, starved)}
    assert found["Standard_DS1_v2"].best is None
    with pytest.raises(NotApplicable, match="load generator was the limit"):
        check.capacity("img:1", found, BOUND, None, None)


def test_the_report_carries_the_documented_names_and_a_chart() -> None:
    figures = check.capacity(
        "img:1", {"Standard_DS1_v2": measured(DS1, run(1, 45, 22))}, BOUND, None, None
    )
    report = RunReport()
    report.capacity["img:1"] = CapacityFigures.read(figures.property()[1]) or figures
    report.checks["img:1"] = {"capacity": "passed"}
    section = report.as_json()["images"]["img:1"]["capacity"]
    assert set(section["rows"][0]) >= {
        "instance_type", "worker_count", "max_rps", "p50_ms", "p95_ms", "p99_ms",
        "errors", "cpu_percent", "peak_memory_bytes", "estimated",
    }  # fmt: skip
    assert set(section["recommendation"]) >= {
        "instance_type", "worker_count", "instance_count", "max_concurrent_requests_per_instance",
    }  # fmt: skip
    assert "quadrantChart" in "\n".join(capacity_chart(figures))
    assert "```mermaid" in report.as_markdown()
    assert any("Standard_DS1_v2 x 1, WORKER_COUNT=1" in line for line in capacity_lines(figures))


class _Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536  # the answer in one write

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status = 500 if self.path == "/fail" else 200
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    found = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    threading.Thread(target=found.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{found.server_address[1]}"
    found.shutdown()


def test_the_load_generator_counts_answers_and_errors_by_kind(server: str) -> None:
    ok = closed_loop(f"{server}/score", [b"{}"], 2, timeout=2, limit=1, window=0.1)
    assert ok.rps > 0 and ok.latencies_ms and not ok.errors and ok.concurrency == 2
    failing = closed_loop(f"{server}/fail", [b"{}"], 1, timeout=2, limit=0.6, window=0.1)
    assert failing.errors.get("status", 0) > 0 and failing.rps == 0
