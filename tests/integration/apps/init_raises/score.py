def init():
    raise RuntimeError("model file corrupted: cannot load weights")


def run(raw_data):
    return raw_data
