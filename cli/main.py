"""The ``returns`` command line's entry point: the application with every command group registered."""

from __future__ import annotations

import sys

# Importing a command group registers its commands; ``returns --help`` lists them in this order.
from cli import credits, db, generate, pipeline, rules, serve, users, validate  # noqa: F401,I001
from cli.app import app

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    app(prog_name="returns")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
