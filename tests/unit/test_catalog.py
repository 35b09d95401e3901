import pytest

from pytest_amlimage.config import catalog
from pytest_amlimage.errors import AmlUsageError


def test_the_nine_2021_rows_ship_retired_beside_todays_images() -> None:
    rows = catalog.entries()
    retired = [row for row in rows if row.status == "retired"]
    assert len(retired) == 9 and all(
        row.python == "3.7" and "(2021)" in row.cite for row in retired
    )
    gpu = [row for row in retired if row.device == "gpu"]
    assert [(row.cuda, row.cudnn) for row in gpu] == [("11.0.3", "8.0.5.39")]
    current = {row.curated_environment: row for row in rows if row.status == "current"}
    assert {
        "minimal-py311-inference",
        "minimal-py312-cuda12.4-inference",
        "mlflow-py312-inference",
    } <= set(current)
    assert current["minimal-py312-cuda12.4-inference"].cuda == "12.4"
    assert all(row.cite for row in current.values())
    assert "Azure/azureml-assets" in current["minimal-py311-inference"].cite


def test_todays_images_are_found_by_their_mcr_path_with_a_dated_tag() -> None:
    found = catalog.find("mcr.microsoft.com/azureml/curated/minimal-py311-inference:20260301.v1")
    assert found.curated_environment == "minimal-py311-inference" and found.python == "3.11"


@pytest.mark.parametrize(
    "name",
    [
        "AzureML-pytorch-1.6-ubuntu18.04-py37-cpu-inference",
        "azureml-pytorch-1.6-ubuntu18.04-py37-cpu-inference",
        "mcr.microsoft.com/azureml/pytorch-1.6-ubuntu18.04-py37-cpu-inference",
        "mcr.microsoft.com/azureml/pytorch-1.6-ubuntu18.04-py37-cpu-inference:latest",
        "pytorch-1.6-ubuntu18.04-py37-cpu-inference",
    ],
)
def test_find_by_any_of_the_three_names(name: str) -> None:
    assert catalog.find(name).framework == "torch"


def test_unknown_name_says_how_to_list_them() -> None:
    with pytest.raises(AmlUsageError, match="--aml-list-curated"):
        catalog.find("AzureML-nothing")


def test_row_expectations_include_framework_and_quirky_packages() -> None:
    row = catalog.find("AzureML-tensorflow-1.15-ubuntu18.04-py37-cpu-inference")
    found = {e.name: str(e.specifier) for e in row.expectations()}
    assert found == {"tensorflow": "==1.15.*", "pandas": "==0.25.1", "numpy": "==1.20.1"}
    assert all(
        e.source == "--aml-curated AzureML-tensorflow-1.15-ubuntu18.04-py37-cpu-inference"
        for e in row.expectations()
    )


def test_minimal_row_expects_nothing() -> None:
    assert catalog.find("minimal-ubuntu18.04-py37-cpu-inference").expectations() == []


def test_detect_by_base_label_or_by_shared_layers() -> None:
    xgboost = "mcr.microsoft.com/azureml/xgboost-0.9-ubuntu18.04-py37-cpu-inference:latest"
    by_label = catalog.by_names(["other:1", xgboost])
    assert by_label is not None and by_label.framework == "xgboost"
    local = [
        (["other:1"], ["a"]),
        (
            ["mcr.microsoft.com/azureml/pytorch-1.7-ubuntu18.04-py37-cpu-inference:latest"],
            ["a", "b"],
        ),
    ]
    by_layers = catalog.by_layers(["a", "b", "c"], local)
    assert by_layers is not None and by_layers.framework_version == "1.7"
    assert catalog.by_layers(["x", "y"], local) is None and catalog.by_names(["other:1"]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Image: mcr.microsoft.com/azureml/curated/minimal-py311-inference:20261115.v1\n",
            "minimal-py311-inference",
        ),
        (
            "name=minimal-py312-cuda12.4-inference\nbuilt=2026-11-01\n",
            "minimal-py312-cuda12.4-inference",
        ),
        ("mcr.microsoft.com/azureml/minimal-py312-inference:latest", "minimal-py312-inference"),
        (
            "AzureML-minimal-ubuntu22.04-py39-cpu-inference",
            "AzureML-minimal-ubuntu22.04-py39-cpu-inference",
        ),
    ],
)
def test_detect_by_what_image_information_names(text: str, expected: str) -> None:
    found = catalog.named_in(text)
    assert found is not None and found.curated_environment == expected


def test_image_information_naming_no_row_detects_nothing() -> None:
    assert catalog.named_in("my-minimal-py311-inference-fork 1.0") is None
    assert catalog.named_in("") is None and catalog.named_in(None) is None


def test_table_lists_every_row() -> None:
    text = catalog.table()
    assert all(row.curated_environment in text for row in catalog.entries())
    assert "11.0.3" in text and "8.0.5.39" in text
