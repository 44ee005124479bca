"""Hostile and careless inputs, run through the command line (one file per defect)."""
