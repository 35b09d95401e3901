import time


def init():
    pass


def run(raw_data):
    time.sleep(3600)
