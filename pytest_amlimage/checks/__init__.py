"""The built-in checks (above endpoint): one module per family, each a set of plain check bodies, and
``assemble``, the one place that decides which checks an image gets and binds their inputs."""
