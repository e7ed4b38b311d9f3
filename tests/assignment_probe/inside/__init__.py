"""The probe assignment's student side: its request kinds (ops.py)."""
