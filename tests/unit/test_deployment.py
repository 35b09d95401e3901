"""Reading a managed online deployment YAML: what the endpoint does with the image, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_amlimage.config import deployment, deployment_kinds
from pytest_amlimage.config.deployment import Probe, Route
from pytest_amlimage.errors import AmlUsageError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "deployment" / "deployment.yml"


def load(tmp_path: Path, text: str) -> deployment.Deployment:
    path = tmp_path / "deployment.yml"
    path.write_text(text)
    return deployment_kinds.load(path)


def test_the_bundled_example() -> None:
    found = deployment_kinds.load(EXAMPLE)
    endpoint = found.endpoint
    assert found.options == {
        "image": "mcr.microsoft.com/azureml/minimal-py312-inference:latest",
        "entry_script": "src/score.py",
        "model_dir": "./model",
        "instance_type": "Standard_DS3_v2",
    }
    assert (endpoint.model_name, endpoint.model_version, endpoint.code) == (
        "linear-model",
        "1",
        EXAMPLE.parent / "src",
    )
    assert (endpoint.request_timeout_ms, endpoint.max_concurrent_requests) == (3000, 2)
    assert endpoint.environment == {"WORKER_COUNT": "2"}
    assert (
        endpoint.liveness_probe == Probe(10, 10, 2, 30, 1) and endpoint.liveness_probe.budget == 310
    )
    assert endpoint.ports == (5001,)


def test_defaults_are_the_platforms(tmp_path: Path) -> None:
    endpoint = load(tmp_path, "name: blue\nenvironment:\n  image: img:1\n").endpoint
    assert (endpoint.request_timeout_ms, endpoint.max_concurrent_requests) == (5000, 1)
    assert endpoint.liveness_probe.budget == endpoint.readiness_probe.budget == 310
    assert endpoint.scoring_route == Route("/score", 5001) and endpoint.liveness_route == Route(
        "/", 5001
    )


def test_custom_container_routes_build_and_gpu_sku(tmp_path: Path) -> None:
    found = load(
        tmp_path,
        """
model: {name: m, version: 2, local_path: ./half_plus_two}
model_mount_path: /var/tfserving-model-mount
environment:
  build: {path: ./context, dockerfile_path: docker/Dockerfile.gpu}
  inference_config:
    liveness_route: {port: 8501, path: /v1/models/m}
    readiness_route: {port: 8501, path: /v1/models/m}
    scoring_route: {port: 8502, path: "/v1/models/m:predict"}
liveness_probe: {initial_delay: 1, period: 2, failure_threshold: 3, timeout: 0.5}
instance_type: Standard_NC6s_v3
unknown_key: [ignored, as the CLI ignores it]
""",
    )
    endpoint = found.endpoint
    assert found.options == {
        "build": "context/docker/Dockerfile.gpu",
        "model_dir": "./half_plus_two",
        "instance_type": "Standard_NC6s_v3",
    }
    assert endpoint.scoring_route == Route("/v1/models/m:predict", 8502) and endpoint.ports == (
        8501,
        8502,
    )
    assert endpoint.model_mount_path == "/var/tfserving-model-mount"
    assert endpoint.instance_type == "Standard_NC6s_v3"
    assert endpoint.liveness_probe.budget == 7 and endpoint.liveness_probe.timeout == 0.5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "model:\n  path: [a\n",
            r"deployment.yml:2 \(from --aml-deployment\): not valid YAML \(.*\): fix the deployment YAML$",
        ),
        (
            "request_settings:\n  request_timeout_ms: soon\n",
            r"yml:2 \(from --aml-deployment\): request_settings.request_timeout_ms is",
        ),
        (
            "liveness_probe: 5\n",
            r"deployment.yml:1 \(from --aml-deployment\): liveness_probe must be a mapping",
        ),
        (
            "model: azureml:my-model:3\n",
            r"deployment.yml:1 \(from --aml-deployment\): model is 'azureml:my-model:3', a model in the cloud",
        ),
        (
            "code_configuration:\n  code: ./src\n",
            r"deployment.yml:1 \(from --aml-deployment\): code_configuration needs both code and scoring",
        ),
        ("- a list\n", r"deployment.yml:1 \(from --aml-deployment\): \(top\) must be a mapping"),
    ],
)
def test_errors_are_one_line_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(AmlUsageError, match=message) as error:
        load(tmp_path, text)
    assert "\n" not in str(error.value)


def test_the_instance_type_and_kubernetes_resources_size_the_container(tmp_path: Path) -> None:
    kubernetes = "$schema: https://azuremlschemas.azureedge.net/latest/kubernetesOnlineDeployment.schema.json\n"
    path = tmp_path / "k8s.yml"
    path.write_text(kubernetes + "resources:\n  limits:\n    cpu: 500m\n    memory: 1500Mi\n")
    assert deployment_kinds.load(path).options == {"memory": 1500 * 1024**2, "cpus": "0.5"}
    path.write_text(kubernetes)  # no limits, no instance type: the cluster's default instance type
    assert deployment_kinds.load(path).options == {"instance_type": "defaultinstancetype"}
    path.write_text(kubernetes + "resources:\n  limits:\n    memory: lots\n")
    with pytest.raises(
        AmlUsageError,
        match=r"k8s.yml:4 \(from --aml-deployment\): resources.limits.memory is 'lots', not a size",
    ):
        deployment_kinds.load(path)


def test_a_deployment_without_egress_asks_for_the_offline_run(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    path.write_text("egress_public_network_access: disabled\ninstance_type: Standard_F2s_v2\n")
    assert deployment_kinds.load(path).options == {
        "offline": "true",
        "instance_type": "Standard_F2s_v2",
    }


def test_an_mlflow_model_without_code_is_a_no_code_deployment(tmp_path: Path) -> None:
    path = tmp_path / "d.yml"
    model = "model:\n  name: sk\n  version: 2\n  type: mlflow_model\n  path: model\n"
    path.write_text(model + "instance_type: Standard_F2s_v2\n")
    assert deployment_kinds.load(path).options["mlflow_model"] == "model"
    coded = "code_configuration:\n  code: src\n  scoring_script: score.py\n"
    path.write_text(model + coded)  # a scoring script of one's own: the model is only mounted
    assert deployment_kinds.load(path).options["model_dir"] == "model"
    assert "mlflow_model" not in deployment_kinds.load(path).options


@pytest.mark.parametrize(
    ("quantity", "size"),
    [
        ("2Gi", 2 * 1024**3),
        ("2G", 2 * 10**9),
        ("500M", 500 * 10**6),
        ("0.5Gi", 1024**3 // 2),
        ("1500Mi", 1500 * 1024**2),
        ("1e9", 10**9),
        ("128974848", 128974848),
        ("2g", None),  # not a Kubernetes unit
        ("lots", None),
    ],
)
def test_kubernetes_quantities_are_read_by_their_own_rules(quantity: str, size: int | None) -> None:
    from pytest_amlimage.config.instance_types import kubernetes_bytes

    assert kubernetes_bytes(quantity) == size


def test_an_option_reads_docker_sizes_and_kubernetes_binary_units() -> None:
    from pytest_amlimage.config.instance_types import memory_bytes

    assert [memory_bytes(text) for text in ("512m", "4g", "2G", "2Gi", "12q")] == [
        512 * 1024**2,
        4 * 1024**3,
        2 * 1024**3,  # Docker's G is binary
        2 * 1024**3,
        None,
    ]


def test_gpu_ness_comes_from_the_instance_type_table() -> None:
    from pytest_amlimage.config.instance_types import find
    from pytest_amlimage.config.settings import Settings

    assert Settings(instance=find("Standard_NC6s_v3")).gpu_instance
    assert not Settings(instance=find("Standard_DS3_v2")).gpu_instance
    assert (
        not Settings(instance=find("Standard_Unknown")).gpu_instance and not Settings().gpu_instance
    )
