"""`flask --app wsgi audit ...`"""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from portal.audit import checkpoints, integrity
from portal.extensions import db

audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
@click.option("--checkpoint", "checkpoint_file", type=click.Path(exists=True, dir_okay=False),
              help="A checkpoint file from `audit checkpoint`: also proves nothing was cut off.")
def audit_verify(checkpoint_file: str | None) -> None:
    """Check the whole audit chain; exit 1 naming the first bad event."""
    checkpoint = checkpoints.load(checkpoint_file) if checkpoint_file else None
    result = integrity.check(checkpoint=checkpoint)
    click.echo(result.summary())
    if checkpoint:
        click.echo(f"checkpoint #{checkpoint['seq']} from {checkpoint['time']}: signature valid "
                   f"(key {checkpoint['key_id']})"
                   + ("; every event up to it is still there" if result.ok else ""))
    # The check itself is part of the record (the integrity page shows the last one).
    integrity.record_result(None, result, "cli", checkpoint=checkpoint)
    db.session.commit()
    sys.exit(0 if result.ok else 1)


@audit_cli.command("checkpoint")
@click.option("--output", "output", type=click.Path(dir_okay=False, writable=True),
              help="Where to write it (default: a new file in AUDIT_CHECKPOINT_DIR).")
def audit_checkpoint(output: str | None) -> None:
    """Write a signed checkpoint (sequence, head hash, time) to a file outside the database."""
    data = checkpoints.make(db.session)
    path = checkpoints.write(data, output)
    db.session.commit()
    click.echo(f"checkpoint #{data['seq']} {data['hash']} signed with key {data['key_id']}")
    click.echo(f"written to {path}")
    click.echo("Keep a copy away from the database server; check with "
               f"`flask --app wsgi audit verify --checkpoint {path}`.")
