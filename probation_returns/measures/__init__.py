"""Contract performance: service levels, service credits, proven reoffending and outcome payments."""
