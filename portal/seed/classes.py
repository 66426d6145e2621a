"""Demo classes and memberships."""
from __future__ import annotations


def seed(ctx) -> None:
    """Filled in by the feature that owns classes and memberships."""
