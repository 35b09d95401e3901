"""run() takes longer than the deployment's retry_settings.timeout."""

import time


def init():
    pass


def run(mini_batch):
    time.sleep(30)
    return mini_batch
