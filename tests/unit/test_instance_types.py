"""The instance-type table against Microsoft's managed SKU list: every name on the list is known, a retired one
fails `deployment` with its date, a current one raises no alarm, and a name on no list gets the closest ones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from pytest_amlimage.checks.deployment_yaml import deployment as check
from pytest_amlimage.config import deployment_kinds, instance_types
from pytest_amlimage.errors import AmlUsageError, CheckFailed

LISTED = Path(__file__).parent / "data" / "managed_sku_list.txt"
MANAGED = [
    line.strip()
    for line in LISTED.read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
TODAY = date(2026, 12, 7)
YAML = "name: blue\nendpoint_name: my-endpoint\ninstance_type: {}\nenvironment:\n  image: x:1\n"


def test_the_fixture_names_its_source_and_date() -> None:
    head = LISTED.read_text()
    assert "reference-managed-online-endpoints-vm-sku-list" in head and "# read: 2026-" in head
    assert len(MANAGED) == 85


@pytest.mark.parametrize("name", MANAGED)
def test_each_managed_sku_is_in_the_table_and_runs_to_its_verdict(
    tmp_path: Path, name: str
) -> None:
    known = instance_types.find(name)
    assert known is not None and not known.kubernetes, (
        f"{name} is on the managed list, not in the table"
    )
    path = tmp_path / "deployment.yml"
    path.write_text(YAML.format(name))
    found = deployment_kinds.load(path)
    if known.retired(TODAY):
        assert known.retires is not None
        with pytest.raises(CheckFailed, match=f"was retired on {known.retires.on:%Y-%m-%d}"):
            check(found, 1, today=TODAY)
    else:
        check(found, 1, today=TODAY)


def test_ncv2_fails_as_retired_not_as_unknown(tmp_path: Path) -> None:
    path = tmp_path / "deployment.yml"
    path.write_text(YAML.format("Standard_NC6s_v2"))
    with pytest.raises(CheckFailed) as failed:
        check(deployment_kinds.load(path), 1, today=TODAY)
    assert str(failed.value).startswith(
        "deployment.yml:3: instance_type 'Standard_NC6s_v2' was retired on 2023-09-06"
    )
    assert "not in the managed SKU list" not in str(failed.value)


def test_ndv2_and_the_fx_series_are_current() -> None:
    for name in ("Standard_ND40rs_v2", "Standard_FX4mds", "Standard_NV6ads_A10_v5"):
        known = instance_types.find(name)
        assert known is not None and not known.retired(TODAY)
    nv = instance_types.find("Standard_NV6ads_A10_v5")
    assert nv is not None and 0 < nv.gpus < 1  # a sixth of an A10: still a GPU type


def test_a_name_on_no_list_gets_the_closest_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "deployment.yml"
    path.write_text(YAML.format("Standard_FX4md"))
    with pytest.raises(CheckFailed) as failed:
        check(deployment_kinds.load(path), 1, today=TODAY)
    assert "'Standard_FX4md' is not in the managed SKU list" in str(failed.value)
    assert "did you mean Standard_FX4mds" in str(failed.value)
    with pytest.raises(AmlUsageError, match=r"did you mean Standard_DS3_v2\b"):
        instance_types.require("Standard_DS3_v3", "--aml-instance-type")
    assert instance_types.closest("nothing-like-it") == "use a managed SKU such as Standard_DS3_v2"
