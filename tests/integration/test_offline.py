"""A deployment without outbound access: the image is run again with no network at all.

The model store is a container of our own on this engine: traffic stays on this machine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import deployment_yaml, expect

pytestmark = pytest.mark.engine
STORE = "mkdir -p /tmp/store && echo '{\"w\": 2}' > /tmp/store/m.json && exec python3 -m http.server 8000 -d /tmp/store"


@pytest.fixture
def model_store(engine: Any, images: dict[str, str]) -> Iterator[str]:
    """The URL of a model file served by a container of ours; removed afterwards."""
    store = engine.containers.create(
        images["minimal"], ["sh", "-c", STORE], mem_limit="256m", labels={"purpose": "model-store"}
    )
    try:  # created, then started: a start that fails leaves nothing behind either
        store.start()
        store.reload()
        address = store.attrs["NetworkSettings"]["IPAddress"]
        time.sleep(1)  # the server's start
        yield f"http://{address}:8000/m.json"
    finally:
        store.remove(force=True)


def deployment(
    pytester: pytest.Pytester, images: dict[str, str], app: str, url: str, extra: str = ""
) -> str:
    (pytester.path / "request.json").write_text('{"data": [1]}')
    return deployment_yaml(pytester, images["minimal"], app, f"  MODEL_URL: {url}\n", extra)


def test_an_init_that_downloads_passes_online_and_fails_offline(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], model_store: str
) -> None:
    args = (deployment(pytester, images, "downloads", model_store), "--aml-sample=request.json")
    online = run_plugin(*args, "-k", "offline or liveness or score")
    expect(online, passed=["liveness", "score[request]"], **{"not run": ["offline"]})
    offline = run_plugin(*args, "--aml-offline", "-k", "offline or liveness")
    expect(offline, failed=["offline"], passed=["liveness"])
    offline.stdout.fnmatch_lines(
        [
            "*offline: with no network, the server never answered GET /: init() raised: "
            "urllib.error.URLError: <urlopen error [[]Errno 101[]] Network is unreachable>*"
        ]
    )


def test_offline_reads_the_log_as_liveness_does_under_runit(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str], model_store: str
) -> None:
    """Behind nginx under runit, the crash ends the wait within seconds, not the probe budget's 310 s."""
    (pytester.path / "request.json").write_text('{"data": [1]}')
    variables = f"  MODEL_URL: {model_store}\n"
    extra = "egress_public_network_access: disabled\n"
    args = deployment_yaml(pytester, images["nginx-runit"], "downloads", variables, extra)
    result = run_plugin(args, "--aml-sample=request.json", "-k", "offline")
    expect(result, failed=["offline"])
    result.stdout.fnmatch_lines(
        [
            "*offline: with no network, the server never answered GET /: init() raised: "
            "urllib.error.URLError: <urlopen error [[]Errno 101[]] Network is unreachable>*"
        ]
    )
    assert result.duration < 60


def test_a_deployment_without_egress_asks_for_the_offline_run_and_a_self_contained_image_passes(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    extra = "egress_public_network_access: disabled\n"
    args = (deployment(pytester, images, "decorated", "unused", extra), "--aml-sample=request.json")
    (pytester.path / "request.json").write_text('{"data": [[1.0, 2.0]]}')
    result = run_plugin(*args, "-k", "offline")
    expect(result, passed=["offline"])
