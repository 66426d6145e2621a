"""Demo licenses, requests and requirement completions in every state."""
from __future__ import annotations


def seed(ctx) -> None:
    """Filled in by the feature that owns licenses, requests and requirement completions in every state."""
