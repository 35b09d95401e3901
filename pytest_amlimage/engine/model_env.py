"""The environment the platform makes for an MLflow model (a no-code deployment): its ``conda.yaml`` on top of
the curated image, made by the image's own conda, with the inference server added as the platform adds it.

Azure ML "reads the Conda dependencies that are specified in the MLflow model and adds any packages that
are required to run the inferencing server" (how-to-deploy-mlflow-models): an image built at deploy time,
whose environment is first on ``PATH``. The server is pinned to the image's own version, as the start
script pins it when it makes a conda environment. Built once per (image, conda file) and kept by a hash.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from pytest_amlimage.config.names import suffixed
from pytest_amlimage.engine import build
from pytest_amlimage.engine.image_info import ImageInfo

if TYPE_CHECKING:
    import docker

HASH_LABEL = "io.github.pytest-amlimage.model-env"
ENV_PATH = "/azureml-envs/model"
RECIPE = """FROM {image}
USER root:root
COPY conda.yaml /tmp/model-conda.yaml
RUN server="$(pip show azureml-inference-server-http 2>/dev/null | sed -n 's/^Version: //p')" \\
 && conda env create -p {env} -f /tmp/model-conda.yaml \\
 && if ! {env}/bin/pip show -q azureml-inference-server-http 2>/dev/null; then \\
      {env}/bin/pip install --no-cache-dir "azureml-inference-server-http${{server:+==$server}}"; fi \\
 && rm /tmp/model-conda.yaml
ENV AZUREML_CONDA_ENVIRONMENT_PATH={env} PATH={env}/bin:{path} LD_LIBRARY_PATH={env}/lib:{ld}
{user}"""


def with_model_environment(
    client: docker.DockerClient,
    reference: str,
    info: ImageInfo,
    conda: Path,
    progress: Callable[[str], None],
) -> tuple[str, str | None]:
    """(tag, build error or None) of ``reference`` with the model's environment made on it; reused when built."""
    digest = hashlib.sha256(f"{info.id}\n{RECIPE}\n".encode() + conda.read_bytes()).hexdigest()[:12]
    tag = suffixed(reference, f"model-{digest}")  # the image's own tag, with the environment's hash
    from docker.errors import ImageNotFound

    try:
        if client.images.get(tag).labels.get(HASH_LABEL) == digest:
            return tag, None
    except ImageNotFound:  # not built yet
        pass
    user = f"USER {info.user}\n" if info.user else ""
    recipe = RECIPE.format(
        image=reference,
        env=ENV_PATH,
        path=info.env.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        ld=info.env.get("LD_LIBRARY_PATH", ""),
        user=user,
    )
    with tempfile.TemporaryDirectory(prefix="amlimage-model-env-") as folder:
        context = Path(folder)
        (context / "conda.yaml").write_bytes(conda.read_bytes())
        (context / "Dockerfile").write_text(recipe + f'LABEL {HASH_LABEL}="{digest}"\n')
        return tag, build.build(client, context, tag, {}, None, progress)
