"""Demo admin-side data such as finished bulk jobs."""
from __future__ import annotations


def seed(ctx) -> None:
    """Filled in by the feature that owns admin-side data such as finished bulk jobs."""
