"""Figures kept rather than recounted: the admin overview's summary (summary.py) and the
command that checks it against a full recount (cli.py)."""
