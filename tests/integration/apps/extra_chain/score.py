# Imports a package only its requirements file names: the start script never installs it when a
# library folder is set too (its one if/elif chain takes the folder, and stops there).
import tabulate


def init():
    pass


def run(raw_data):
    return tabulate.tabulate([[raw_data]])
