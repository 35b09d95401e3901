"""Where Azure ML's inference images keep things inside the container."""

from __future__ import annotations

APP_ROOT = "/var/azureml-app"
MOUNTED_MODEL_DIR = "/var/azureml-models"
SERVER_PORT = 5001
