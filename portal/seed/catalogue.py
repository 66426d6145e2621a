"""Demo specializations, levels and requirements."""
from __future__ import annotations


def seed(ctx) -> None:
    """Filled in by the feature that owns specializations, levels and requirements."""
