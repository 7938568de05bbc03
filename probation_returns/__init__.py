"""Probation Returns: validation and contract reporting for probation providers' quarterly returns."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("probation-returns")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
