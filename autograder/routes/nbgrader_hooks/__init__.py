"""The kit inside nbgrader, by nbgrader's extension points (set in nbgrader_config.py). Not named `nbgrader`: it would shadow the real package."""
