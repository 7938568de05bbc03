"""Helpers the tests share: synthetic returns, portal accounts, the pipeline harness, a hostile corpus, an attacker."""
