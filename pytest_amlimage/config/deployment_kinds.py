"""Which kind of deployment a YAML is, and its reader: a deployment template, a batch deployment, else an online
deployment. Above the three readers, which share ``deployment``'s records and ``Reader``."""

from __future__ import annotations

from pathlib import Path

from pytest_amlimage.config import batch, deployment, template, yamlfile
from pytest_amlimage.config.deployment import Deployment, Reader
from pytest_amlimage.config.platform import SERVER_PORT


def load(path: Path, port: int = SERVER_PORT, source: str = "--aml-deployment") -> Deployment:
    """The deployment YAML (a deployment template, a batch deployment) at ``path``, given by ``source``; routes
    without a port of their own use ``port``."""
    document = yamlfile.read(path, source, "the deployment YAML")
    reader = Reader(path, document.lines, source)
    data = reader.table(document.data, ("(top)",))
    if template.is_template(data):
        return template.read(reader, data, port)
    if batch.is_batch(data):
        return batch.read(reader, data)
    return deployment.read(reader, data, port)
