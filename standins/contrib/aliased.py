import json

from azureml.ai.monitoring import Collector
from azureml.contrib.services.aml_request import rawhttp


def init():
    pass


@rawhttp
def run(request):
    return json.loads(request.get_data())
