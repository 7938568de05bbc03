"""Validating a provider return, one module per job.

``checking`` (read a return, run every rule on every record, decide) over ``reader`` and ``engine``;
``cascade`` (records rejected with their case); ``outcome`` (the outcome and why); ``result`` (what a validation
found); ``advice`` (what to do about each rule); ``header`` (the feedback's header block); ``store`` (into the
warehouse); ``service`` (a received submission, once).
"""
