"""One test run (the top layer under ``plugin``): the session and its images' containers, how each is
launched, the pytest items of the checks, and the report."""
