"""summary_only: each input's results written to a file of its own under AZUREML_BI_OUTPUT_PATH."""

import os
from pathlib import Path


def init():
    global output
    output = os.environ["AZUREML_BI_OUTPUT_PATH"]


def run(mini_batch):
    for path in mini_batch:
        name = os.environ.get("OUTPUT_NAME") or Path(path).stem + ".txt"
        with open(os.path.join(output, name), "w") as written:
            written.write(Path(path).read_text().upper())
    return mini_batch
