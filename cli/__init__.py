"""The ``returns`` command line, one module per command group (``cli.main:app`` is the entry point)."""
