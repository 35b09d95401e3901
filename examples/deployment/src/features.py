"""A module beside the scoring script: the endpoint puts the script's folder on the import path."""


def rows(payload: dict) -> list:
    return [[float(value) for value in row] for row in payload["data"]]
