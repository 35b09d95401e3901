"""The Docker engine (above config): connecting, images, building, and starting and removing containers."""
