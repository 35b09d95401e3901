"""Version expectations, frameworks, the curated catalog and pip-check against real images."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from .conftest import expect

pytestmark = pytest.mark.engine
MINIMAL_MCR = "mcr.microsoft.com/azureml/minimal-ubuntu18.04-py37-cpu-inference"
SKLEARN_ROW = "AzureML-sklearn-0.24.1-ubuntu18.04-py37-cpu-inference"


def test_numpy_1_and_numpy_2_images(run_plugin: Any, images: dict[str, str]) -> None:
    result = run_plugin(
        "--aml-image",
        images["minimal"],
        "--aml-image",
        images["numpy2"],
        "--aml-expect",
        "numpy<2",
        "--aml-expect",
        "pandas ~= 2.2.x",
        "-rA",
    )
    result.stdout.fnmatch_lines_random(
        [
            f"PASSED {images['minimal']}::version?numpy?",
            f"PASSED {images['minimal']}::version?pandas?",
            f"FAILED {images['numpy2']}::version?numpy?*",
            f"PASSED {images['numpy2']}::version?pandas?",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "version?numpy?: numpy 2.1.3 does not satisfy <2 (expected by --aml-expect); "
            "pin it in the requirements your Dockerfile installs"
        ]
    )


def test_framework_distribution_and_import(run_plugin: Any, images: dict[str, str]) -> None:
    passing = run_plugin(
        "--aml-image", images["sklearn"], "--aml-framework", "sklearn==1.5.*", "-rA"
    )
    passing.stdout.fnmatch_lines([f"PASSED {images['sklearn']}::framework?scikit-learn?"])
    wrong = run_plugin("--aml-image", images["sklearn"], "--aml-framework", "scikit-learn==0.24.1")
    wrong.stdout.fnmatch_lines(
        ["*scikit-learn 1.5.2 does not satisfy ==0.24.1 (expected by --aml-framework)*"]
    )


def test_installed_but_unimportable_framework_shows_the_import_error(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin("--aml-image", images["quirky"], "--aml-framework", "xgboost==0.90")
    result.stdout.fnmatch_lines(
        [
            "*framework?xgboost?: xgboost 0.90 is installed but `import xgboost` fails in the interpreter that serves "
            "(*python*): ImportError: libxgboost.so: cannot open shared object file: No such file or directory",
        ]
    )


def test_banners_and_broken_metadata_do_not_break_the_probe(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin("--aml-image", images["quirky"], "--aml-expect", "numpy==1.26.4", "-rA")
    result.stdout.fnmatch_lines_random(
        [
            f"PASSED {images['quirky']}::version?numpy?",
            "*pip-check: broken metadata: no Name in the metadata of */broken_pkg-1.0.dist-info",
            "needs-old-numpy 1.0 has requirement numpy<1.20, but you have numpy 1.26.4",
            "needs-old-numpy 1.0 requires not-installed-anywhere, which is not installed",
        ]
    )


def test_curated_row_by_name_names_itself_as_the_source(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin("--aml-image", images["sklearn"], "--aml-curated", SKLEARN_ROW, "-rA")
    result.stdout.fnmatch_lines_random(
        [
            f"*scikit-learn 1.5.2 does not satisfy ==0.24.1 (expected by --aml-curated {SKLEARN_ROW})*",
            f"PASSED {images['sklearn']}::version?numpy?",
            f"*pandas 2.2.3 does not satisfy ==1.1.* (expected by --aml-curated {SKLEARN_ROW})*",
        ]
    )


def test_curated_auto_finds_the_base_by_its_layers(
    run_plugin: Any, engine: Any, images: dict[str, str]
) -> None:
    engine.images.get(images["minimal"]).tag(MINIMAL_MCR, "latest")
    try:
        result = run_plugin(
            "--aml-image", images["extended"], "--aml-curated", "auto", "-rA", "-k", "python"
        )
        result.stdout.fnmatch_lines(
            ["*python*Python 3.11.* serves score.py*but --aml-curated AzureML-minimal-*py37*"]
        )
        result.stdout.no_fnmatch_line("*::curated*")
        undetected = run_plugin("--aml-image", images["nopython"], "--aml-curated", "auto")
        undetected.stdout.fnmatch_lines(
            ["*curated: --aml-curated auto: cannot tell which curated image*"]
        )
    finally:
        engine.images.remove(f"{MINIMAL_MCR}:latest")


@pytest.fixture
def informed_image(engine: Any, images: dict[str, str]) -> Iterator[str]:
    """The minimal stand-in with an /IMAGE_INFORMATION naming a current py311 image (no label, no local base).

    It declares a VOLUME, as some images do: every container created from it makes an anonymous volume.
    """
    tag = f"{date.today() - timedelta(days=30):%Y%m%d}.v1"  # a month old: within base-age's six months
    text = f"Image: mcr.microsoft.com/azureml/curated/minimal-py311-inference:{tag}\n".encode()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("IMAGE_INFORMATION")
        info.size, info.mode = len(text), 0o644
        tar.addfile(info, io.BytesIO(text))
    created = engine.containers.create(images["minimal"])
    try:
        created.put_archive("/", archive.getvalue())
        image = created.commit("amlimage/informed", "test", changes=["VOLUME /var/lib/informed"])
    finally:
        created.remove(force=True)
    yield "amlimage/informed:test"
    engine.images.remove(image.id, force=True)


def test_curated_auto_reads_image_information(
    run_plugin: Any, engine: Any, informed_image: str
) -> None:
    volumes = {volume.name for volume in engine.volumes.list()}
    result = run_plugin(
        "--aml-image", informed_image, "--aml-curated", "auto", "-rA", "-k", "python or base-age"
    )
    expect(result, passed=["python", "base-age"])
    result.stdout.no_fnmatch_line("*::curated*")
    assert {
        volume.name for volume in engine.volumes.list()
    } <= volumes  # the file's reader left none behind


def test_spec_file_and_requirements(
    run_plugin: Any, pytester: pytest.Pytester, images: dict[str, str]
) -> None:
    pytester.makefile(".txt", requirements="numpy==1.26.4\npandas>=3\n")
    pytester.makefile(
        ".toml",
        **{
            "aml-image": f'image = ["{images["minimal"]}"]\nrequirements = "requirements.txt"\n'
            '[expect]\nnumpy = "=1.26.4"\n'
        },
    )
    result = run_plugin("--aml-spec", "aml-image.toml", "--aml-expect", "pandas==0.25.1", "-rA")
    result.stdout.fnmatch_lines_random(
        [
            f"PASSED {images['minimal']}::version?numpy?",
            "*pandas 2.2.3 does not satisfy ==0.25.1 (expected by --aml-expect)*",
            "*requirements.txt has requirement pandas>=3, but you have pandas 2.2.3",
        ]
    )


def test_no_python_fails_versions_with_the_reason_but_non_root_runs(
    run_plugin: Any, images: dict[str, str]
) -> None:
    result = run_plugin(
        "--aml-image",
        images["nopython"],
        "--aml-expect",
        "numpy",
        "--aml-expect",
        "pandas>=1",
        "-rA",
    )
    result.stdout.fnmatch_lines_random(
        [
            f"PASSED {images['nopython']}::non-root",
            "*version?pandas?: cannot check pandas: no `python` or `python3` on the image's PATH",
        ]
    )
