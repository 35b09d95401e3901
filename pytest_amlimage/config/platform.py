"""The fixed places of an Azure ML online deployment's container (app root, model root, port) and its user.

Defined here once, with nothing imported, so the option table can use them at no cost.
"""

APP_ROOT = "/var/azureml-app"
MODEL_ROOT = "/var/azureml-app/azureml-models"
SERVER_PORT = 5001  # where the endpoint probes and scores, unless inference_config says otherwise

ROOT_NAMES = {"", "root", "0"}
ROOT_FIX = "add `USER dockeruser` after your root steps"


def is_root(user: str) -> bool:
    """A Docker ``USER`` value (``name[:group]``) that means root; empty is root too."""
    return user.split(":", 1)[0].strip() in ROOT_NAMES
