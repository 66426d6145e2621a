"""`flask --app wsgi licenses ...` and `keys ...`"""
from __future__ import annotations

import click
from flask.cli import AppGroup

from portal import signing
from portal.audit import actions
from portal.audit.services import record
from portal.extensions import db
from portal.licenses import services, verification

licenses_cli = AppGroup("licenses", help="Check and maintain licenses.")
keys_cli = AppGroup("keys", help="The academy's signing keys.")


@licenses_cli.command("verify")
@click.argument("code")
def licenses_verify(code: str) -> None:
    """Check one license's history chain and signature (exit 1 naming the problem)."""
    result = verification.verify(code)
    if not result.found:
        reason = "its check character does not match (a typing mistake)" if result.typo else (
            "no license has this code"
        )
        raise click.ClickException(f"{code}: {reason}.")
    lic, problems = result.license, []
    if not result.history.ok:
        problems.append(result.history.summary())
    if not result.signature_ok:
        problems.append(f"the signature (key {lic.key_id or 'none'}) does not match the license's state")
    if problems:
        raise click.ClickException(f"{lic.code}: " + "; ".join(problems) + ".")
    click.echo(
        f"{lic.code}: {result.fields['holder']}, {result.fields['specialization_name']} level "
        f"{lic.level}, {lic.status} ({result.state.replace('_', ' ')})."
    )
    click.echo(f"  {result.history.summary()}")
    click.echo(f"  signature verified with key {lic.key_id} (Ed25519)")


@licenses_cli.command("expire")
def licenses_expire() -> None:
    """Mark active licenses past their expiry date as expired (idempotent; safe from cron)."""
    count = services.expire_due()
    db.session.commit()
    click.echo(f"{count} license{'s' if count != 1 else ''} marked expired.")


@keys_cli.command("rotate")
def keys_rotate() -> None:
    """Make a new signing key; the old ones stay published so old signatures still verify."""
    previous = signing.current_key_id()
    kid = signing.rotate()
    record(None, actions.KEYS_ROTATED, ("key", kid), previous_key=previous, key_id=kid)
    db.session.commit()
    click.echo(f"New signing key {kid}; {previous} is retired and stays published for verification.")
