"""`flask --app wsgi stats recount`: the kept figures against a full recount."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.stats import summary

stats_cli = AppGroup("stats", help="The admin overview's kept figures.")


@stats_cli.command("recount")
@click.option("--fix", is_flag=True, help="Replace the kept figures by the recount.")
def stats_recount(fix: bool) -> None:
    """Count every figure of the admin overview afresh and report each cell whose kept
    value differs (exit 1 while any remains). Without --fix nothing is changed."""
    drift = summary.recount(db.session, fix=fix)
    if fix:
        db.session.commit()
    else:
        db.session.rollback()
    if not drift:
        click.echo("Every kept figure matches a full recount.")
        return
    for (kind, key_a, key_b), (stored, counted) in sorted(drift.items()):
        cell = " ".join(part for part in (kind, key_a, key_b) if part)
        click.echo(f"{cell}: kept {stored:,}, counted {counted:,}" + (" (corrected)" if fix else ""))
    if not fix:
        raise click.ClickException(f"{len(drift)} kept figure(s) differ from a full recount (see above).")
    click.echo(f"Corrected {len(drift)} figure(s).")
