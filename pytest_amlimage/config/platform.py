"""The fixed places of an Azure ML online deployment's container: its app root, model root and port.

Defined here once, with nothing imported, so the option table can use them at no cost.
"""

APP_ROOT = "/var/azureml-app"
MODEL_ROOT = "/var/azureml-app/azureml-models"
SERVER_PORT = 5001  # where the endpoint probes and scores, unless inference_config says otherwise
