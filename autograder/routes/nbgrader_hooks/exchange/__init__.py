"""nbgrader's exchange, as the kit extends it (nbgrader_config.py: c.ExchangeFactory.collect)."""
