"""nbgrader preprocessors of the kit, one class a file as nbgrader's own (nbgrader/preprocessors/), loaded
by nbgrader_config.py (dotted paths)."""
