"""`flask --app wsgi privacy ...`: retention, erasure by request received otherwise, the README table."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from portal.extensions import db
from portal.models.user import User
from portal.privacy import classification, erasure, purge

privacy_cli = AppGroup("privacy", help="Retention and erasure (SPEC §11).")


@privacy_cli.command("purge")
def privacy_purge() -> None:
    """Remove what is past its retention period (cron, idempotent); one audit event with counts."""
    counts = purge.purge()
    db.session.commit()
    click.echo("Purged: " + ", ".join(f"{name} {n}" for name, n in counts.items()) + ".")


@privacy_cli.command("erase")
@click.argument("email")
@click.option("--reason", required=True, help="The request, e.g. 'letter of 3 March from the guardian'.")
def privacy_erase(email: str, reason: str) -> None:
    """Erase the person with this e-mail address (a request received by post or mail)."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"No account has the address {email}.")
    try:
        done = erasure.erase(user, None, reason=reason)
        db.session.commit()
    except erasure.ErasureError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    removed = erasure.forget_files(done)
    click.echo(f"Erased account {done.user_id}; removed " +
               ", ".join(f"{name} {n}" for name, n in removed.items()) + ".")


@privacy_cli.command("table")
def privacy_table() -> None:
    """Print the README's "What Portal keeps, and for how long" table."""
    click.echo(classification.readme_table())
