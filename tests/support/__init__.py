"""Helpers the tests share: synthetic returns, portal accounts, the pipeline harness, the hostile corpus, the attacker."""
