def init():
    pass


def run(raw_data):
    raise ValueError("shapes (1,2) and (3,) not aligned")
