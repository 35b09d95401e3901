"""Configuration (the lowest layer): the option table, settings from command line, ini, spec file and
deployment YAML, expectations, the curated catalog and the platform's layout. Imports nothing above it."""
