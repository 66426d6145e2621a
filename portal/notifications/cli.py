"""``flask --app wsgi notifications run``: the scheduled part of notifications (cron)."""
from __future__ import annotations

from datetime import UTC, datetime

import click
from flask.cli import AppGroup

from portal.db import clock
from portal.notifications import schedule

notifications_cli = AppGroup("notifications", help="Notification reminders, digests and mail.")


@notifications_cli.command("run")
@click.option("--now", "at", default=None, metavar="ISO-TIME",
              help="Act as if it were this moment (UTC unless a zone is given); for catching up and tests.")
def run(at: str | None) -> None:
    """Expiry reminders and daily digests (at 09:00 in each person's time zone) and the
    mail that is due, retries included. Idempotent: run it every few minutes."""
    if at is None:
        summary = schedule.run()
    else:
        try:
            moment = datetime.fromisoformat(at)
        except ValueError as exc:
            raise click.BadParameter(f"not an ISO date and time: {at}", param_hint="--now") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        with clock(lambda: moment):
            summary = schedule.run(moment)
    click.echo(f"Notifications: {summary}.")
