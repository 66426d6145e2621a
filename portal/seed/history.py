"""Demo extra audit history over past weeks."""
from __future__ import annotations


def seed(ctx) -> None:
    """Filled in by the feature that owns extra audit history over past weeks."""
