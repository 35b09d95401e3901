"""A batch scoring script as users write them: parse_known_args, one line per file."""

import argparse
import os


def init():
    global prefix
    parser = argparse.ArgumentParser()
    parser.add_argument("--prefix", default="scored")
    args, _ = parser.parse_known_args()
    prefix = args.prefix


def run(mini_batch):
    return [
        f"{prefix} {os.path.basename(path)} {sum(1 for _ in open(path)) - 1}" for path in mini_batch
    ]
