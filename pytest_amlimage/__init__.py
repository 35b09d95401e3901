"""pytest-amlimage: validate Docker images extended from Azure ML's prebuilt inference images."""

__version__ = "0.1.0"
