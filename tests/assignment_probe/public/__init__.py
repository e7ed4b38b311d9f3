"""The probe assignment's trusted helpers (helpers.py)."""
