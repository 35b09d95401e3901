# init() holds INIT_MB of memory, as a loaded model would (each worker its own copy).
import os

model = None


def init():
    global model
    # written, so really resident
    model = b"w" * (int(os.environ.get("INIT_MB", "100")) * 1024 * 1024)


def run(raw_data):
    return {"model_bytes": len(model)}
