import json

from bs4 import BeautifulSoup


def init():
    pass


def run(raw_data):
    return {"text": BeautifulSoup(json.loads(raw_data)["html"], "html.parser").get_text()}
