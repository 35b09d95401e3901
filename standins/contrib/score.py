import json

from azureml.ai.monitoring import Collector
from azureml.contrib.services import rawhttp


def init():
    pass


@rawhttp
def run(request):
    return json.loads(request.get_data())
