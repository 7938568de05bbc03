"""Integrity signals: is a provider's accepted data believable against its peers and its own history?

A signal is information for a contract manager, never a rejection and never a change to the money. Each signal
is a module with one job (``deadline_heaping``, ``exclusion_drift``, ``contact_intensity``, ``case_mix_drift``,
``late_flip``, ``binary_vs_frequency``);
``signals.compute`` runs them all over a ``QuarterData`` (``inputs``); ``thresholds`` reads
``parameters/integrity.toml``; docs/integrity.md explains each for a contract manager.
"""
