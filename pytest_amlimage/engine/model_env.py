"""The environment the platform makes for an MLflow model (a no-code deployment): its ``conda.yaml`` on top of
the curated image, made by the image's own conda, with the inference server added as the platform adds it.

Azure ML "reads the Conda dependencies that are specified in the MLflow model and adds any packages that
are required to run the inferencing server" (how-to-deploy-mlflow-models): an image built at deploy time,
whose environment is first on ``PATH``. The server is pinned to the image's own version, as the start
script pins it when it makes a conda environment. A batch deployment's environment is made the same way: an
MLflow model's conda file with ``azureml-core`` added (how-to-mlflow-batch), or the deployment's own image and
conda file with nothing added. Built once per (image, conda file, addition) and kept by a hash.
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
SERVER = "azureml-inference-server-http"  # what an online no-code deployment adds
BATCH_MLFLOW = "azureml-core"  # what a batch one adds
RECIPE = """FROM {image}
USER root:root
COPY conda.yaml /tmp/model-conda.yaml
RUN adds="{adds}" && pinned="$(pip show "$adds" 2>/dev/null | sed -n 's/^Version: //p')" \\
 && conda env create -p {env} -f /tmp/model-conda.yaml \\
 && if [ -n "$adds" ] && ! {env}/bin/pip show -q "$adds" 2>/dev/null; then \\
      {env}/bin/pip install --no-cache-dir "$adds${{pinned:+==$pinned}}"; fi \\
 && rm /tmp/model-conda.yaml
ENV AZUREML_CONDA_ENVIRONMENT_PATH={env} PATH={env}/bin:{path} LD_LIBRARY_PATH={env}/lib:{ld}
{user}"""


def with_model_environment(
    client: docker.DockerClient,
    reference: str,
    info: ImageInfo,
    conda: Path,
    progress: Callable[[str], None],
    adds: str = SERVER,
) -> tuple[str, str | None]:
    """(tag, build error or None) of ``reference`` with the model's environment made on it; reused when built.

    ``adds``: the distribution the platform adds to the conda file's (pinned to the image's own version where
    it has one), or "" for none.
    """
    recipe_id = f"{info.id}\n{RECIPE}\n{adds}\n"
    digest = hashlib.sha256(recipe_id.encode() + conda.read_bytes()).hexdigest()[:12]
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
        adds=adds,
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
