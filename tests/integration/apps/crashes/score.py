# run() takes its worker down with a segmentation fault, as a broken native extension would.
import os
import signal


def init():
    pass


def run(raw_data):
    os.kill(os.getpid(), signal.SIGSEGV)
