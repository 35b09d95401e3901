import pytest

from pytest_amlimage.config.expectations import distribution_name, merge, parse_expectation
from pytest_amlimage.errors import AmlUsageError


@pytest.mark.parametrize(
    ("text", "name", "specifier"),
    [
        ("numpy=1.20.1", "numpy", "==1.20.1"),
        ("pandas~=1.1.x", "pandas", "==1.1.*"),
        ("pandas==1.1.x", "pandas", "==1.1.*"),
        ("numpy >= 1.16.0", "numpy", ">=1.16.0"),
        ("numpy>=1.16,<2", "numpy", "<2,>=1.16"),
        ("scikit_learn==0.24.1", "scikit-learn", "==0.24.1"),
        ("sklearn==0.24.1", "scikit-learn", "==0.24.1"),
        ("Scikit.Learn==0.24.1", "scikit-learn", "==0.24.1"),
        ("tensorflow==2.4.*", "tensorflow", "==2.4.*"),
        ("torch 1.6", "torch", "==1.6"),
    ],
)
def test_quirks_pasted_from_the_docs_become_pep440(text: str, name: str, specifier: str) -> None:
    parsed = parse_expectation(text, "--aml-expect")
    assert parsed is not None
    assert (parsed.name, str(parsed.specifier)) == (name, specifier)


@pytest.mark.parametrize("text", ["numpy NA", "pandas n/a", "NA"])
def test_na_means_no_expectation(text: str) -> None:
    assert parse_expectation(text, "x") is None


def test_a_bare_name_means_installed_in_any_version() -> None:
    mlflow = parse_expectation("mlflow", "x")
    assert mlflow is not None and mlflow.shown == "any version"
    assert mlflow.satisfied_by("2.19.0") and mlflow.satisfied_by("3.0.0rc1")


@pytest.mark.parametrize("text", ["numpy==1.2.3.4.5.x.y", "numpy>>1", "numpy==abc", "==1.0"])
def test_bad_specs_are_usage_errors_naming_the_entry(text: str) -> None:
    with pytest.raises(AmlUsageError, match="from ini aml_expect"):
        parse_expectation(text, "ini aml_expect")


def test_wildcard_accepts_the_series_only() -> None:
    pandas = parse_expectation("pandas~=1.1.x", "x")
    assert pandas is not None
    assert pandas.satisfied_by("1.1.5")
    assert not pandas.satisfied_by("1.2.0")


def test_local_versions_and_prereleases_are_judged_by_their_release() -> None:
    torch = parse_expectation("torch==2.1.0", "x")
    assert torch is not None
    assert torch.satisfied_by("2.1.0+cu121")
    assert not torch.satisfied_by("not-a-version")


def test_merge_lets_later_sources_win_per_name() -> None:
    first = [parse_expectation("numpy==1.0", "a"), parse_expectation("pandas==1.0", "a")]
    second = [parse_expectation("NumPy>=2", "b")]
    merged = merge([e for e in first if e], [e for e in second if e])
    assert [(e.name, str(e.specifier), e.source) for e in merged] == [
        ("numpy", ">=2", "b"),
        ("pandas", "==1.0", "a"),
    ]


def test_aliases() -> None:
    assert distribution_name("sklearn") == "scikit-learn"
    assert distribution_name("PyTorch") == "torch"
