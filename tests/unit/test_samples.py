from pathlib import Path

import pytest

from pytest_amlimage.endpoint.samples import Sample, differences, load, mlflow_format
from pytest_amlimage.errors import AmlUsageError


def test_numbers_within_tolerance_are_equal() -> None:
    assert differences({"p": [1.0, 2.0]}, {"p": [1.0, 2.0000001]}, rtol=1e-6, atol=0) == []
    assert differences({"p": [1.0, 2.1]}, {"p": [1.0, 2.0]}, rtol=1e-6, atol=0) == [
        "$.p[1]: 2.1 != expected 2.0"
    ]


def test_structure_differences_are_listed() -> None:
    found = differences({"a": 1, "extra": 2, "l": [1]}, {"a": True, "b": 1, "l": [1, 2]}, 0, 0)
    assert found == [
        "$.b: missing",
        "$.extra: unexpected",
        "$.a: 1 != expected True",
        "$.l: 1 items != expected 2",
    ]


def test_load_files_and_folders_with_expected_responses(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('{"data": [1]}')
    (tmp_path / "a.expected.json").write_text('{"p": [2]}')
    (tmp_path / "b.json").write_text('{"data": [2]}')
    samples = load((tmp_path,))
    assert [(s.name, s.has_expected) for s in samples] == [("a", True), ("b", False)]
    assert samples[0].expected == {"p": [2]}


def test_bad_samples_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(AmlUsageError, match="bad.json is not valid JSON"):
        load((tmp_path / "bad.json",))
    (tmp_path / "empty").mkdir()
    with pytest.raises(AmlUsageError, match="holds no"):
        load((tmp_path / "empty",))


def test_input_schema_from_swagger_2_and_openapi_3() -> None:
    from pytest_amlimage.endpoint.swagger import input_schema

    schema = {"type": "object", "properties": {"data": {}}, "required": ["data"]}
    swagger2 = {
        "paths": {
            "/score": {
                "post": {"parameters": [{"in": "body", "schema": {"$ref": "#/definitions/In"}}]}
            }
        },
        "definitions": {"In": schema},
    }
    openapi3 = {
        "paths": {
            "/score": {
                "post": {
                    "requestBody": {
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/In"}}
                        }
                    }
                }
            }
        },
        "components": {"schemas": {"In": schema}},
    }
    assert input_schema(swagger2) == schema == input_schema(openapi3)
    assert input_schema({"paths": {}}) == {}


def test_samples_lacking_required_keys_at_any_depth_are_named(tmp_path: Path) -> None:
    """inference-schema's pandas records: a key misspelt in a record fails before run() is called."""
    from pytest_amlimage.endpoint.swagger import sample_problems

    record = {
        "type": "object",
        "required": ["age", "income"],
        "properties": {"age": {}, "income": {}},
    }
    schema = {
        "type": "object",
        "properties": {"data": {"type": "array", "items": record}, "GlobalParameters": {}},
    }
    good = Sample("good", tmp_path / "good.json", b'{"data": [{"age": 40, "income": 1.0}]}')
    typo = Sample(
        "typo",
        tmp_path / "typo.json",
        b'{"data": [{"age": 1, "income": 2}, {"agee": 40, "income": 1.0}]}',
    )
    assert sample_problems(schema, [good, typo]) == [
        "sample typo at data[1] lacks required keys: age"
    ]


@pytest.mark.parametrize(
    ("body", "format"),
    [
        (b'{"dataframe_split": {"columns": ["x"], "data": [[1]]}}', "dataframe_split"),
        (b'{"instances": [[1, 2]]}', "instances"),
        (b'{"input_data": {"columns": ["x"], "index": [0], "data": [[1]]}}', None),
        (b'{"data": [1]}', None),
        (b"[1, 2]", None),
    ],
)
def test_mlflows_own_request_formats_are_told_from_the_endpoints(
    body: bytes, format: str | None
) -> None:
    assert mlflow_format(body) == format
