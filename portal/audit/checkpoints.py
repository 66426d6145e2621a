"""Signed checkpoints of the audit chain, kept outside the database."""
from __future__ import annotations

import json

import click


def load(path: str) -> dict:
    """Read a checkpoint file. Signature checking arrives with the signing keys."""
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    for key in ("seq", "hash", "time"):
        if key not in data:
            raise click.ClickException(f"{path} is not a checkpoint (no {key!r})")
    return data
