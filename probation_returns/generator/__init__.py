"""Realistic synthetic provider returns and a matching reoffending extract (``dataset.generate``)."""

from probation_returns.generator.dataset import WORKBOOK_PROVIDERS, GenerationResult, delivery_time, generate

__all__ = ["WORKBOOK_PROVIDERS", "GenerationResult", "delivery_time", "generate"]
