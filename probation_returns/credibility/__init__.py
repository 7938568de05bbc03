"""The credibility report: each provider's main figures for a quarter beside its previous four quarters and the
national figure, with the change and a flag where the change is implausible (docs/credibility.md)."""
