"""run() skips the files it cannot read and returns fewer elements than files."""

import os


def init():
    pass


def run(mini_batch):
    return [os.path.basename(path) for path in mini_batch if not path.endswith("part-3.csv")]
