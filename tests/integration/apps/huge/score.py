def init():
    pass


def run(raw_data):
    return "x" * (12 * 1024 * 1024)
