"""Versions of a provider's return for a quarter: what changed between two of them (``diff``)."""
