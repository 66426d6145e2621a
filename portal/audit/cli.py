"""`flask --app wsgi audit ...`"""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.extensions import db

audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False),
              help="A checkpoint file from `audit checkpoint`: also proves nothing was cut off.")
def audit_verify(checkpoint_file: str | None) -> None:
    """Check the whole audit chain; exit 1 naming the first bad event."""
    from portal.audit import chain, checkpoints

    checkpoint = checkpoints.load(checkpoint_file) if checkpoint_file else None
    result = chain.verify(db.session, checkpoint=checkpoint)
    db.session.rollback()
    click.echo(result.summary())
    if checkpoint:
        click.echo(f"checkpoint #{checkpoint['seq']} from {checkpoint['time']}: signature valid")
    sys.exit(0 if result.ok else 1)
