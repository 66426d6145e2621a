"""The transparency log in the demo: every license change of the year is already a leaf
(the services append them); here the log is signed as a witness would see it, once a
month and at the end, so the demo has a history of checkpoints to check."""
from __future__ import annotations

from portal.transparency import checkpoints, log


def _sign() -> None:
    checkpoints.current(log.size())


def seed(ctx) -> None:
    for days in (300, 240, 180, 120, 60, 30, 7, 0):
        ctx.timeline.at(ctx.timeline.ago(days=days), _sign)
