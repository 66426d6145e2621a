"""`flask --app wsgi transparency ...`: publish a checkpoint, verify the log, watch it."""
from __future__ import annotations

import os
from pathlib import Path

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.transparency import check, checkpoints, log, monitor

transparency_cli = AppGroup("transparency", help="The public transparency log of license history.")


@transparency_cli.command("checkpoint")
@click.option("--output", type=click.Path(dir_okay=False), default=None,
              help="Write the signed note here (printed when not given).")
def checkpoint_cmd(output: str | None) -> None:
    """Sign the log's current size and root (a C2SP signed note) to publish elsewhere."""
    note = checkpoints.current(log.size()).note
    db.session.commit()
    if output is None:
        click.echo(note, nl=False)
        return
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(note, encoding="utf-8")
    os.replace(tmp, target)
    click.echo(f"Checkpoint of {note.splitlines()[1]} leaves written to {target}.")


@transparency_cli.command("verify")
def verify_cmd() -> None:
    """Rebuild the tree from the leaves; check stored nodes, checkpoints and license history."""
    report = check.verify(db.session)
    db.session.rollback()
    if not report.ok:
        for problem in report.problems:
            click.echo(f"  {problem}", err=True)
        raise click.ClickException(f"transparency log broken: {report.problems[0]}")
    click.echo(f"transparency log intact: {report.leaves} leaves, {report.nodes} stored hashes, "
               f"{report.checkpoints} checkpoints, root {log.b64(report.root)}")


@transparency_cli.command("monitor")
@click.option("--state", "state", required=True, type=click.Path(dir_okay=False),
              help="The witness's state file: the checkpoint seen last time (made on the first run).")
@click.option("--url", default=None, help="The portal's address, e.g. https://portal.example.org.")
@click.option("--checkpoint-file", default=None, type=click.Path(dir_okay=False, exists=True),
              help="Read the checkpoint from this file (proofs come from this database).")
@click.option("--key", default=None, help="The log's verifier key (name+hash+base64); "
              "otherwise the one in the state file, or the one published on the first run.")
def monitor_cmd(state: str, url: str | None, checkpoint_file: str | None, key: str | None) -> None:
    """Check that the log's current checkpoint extends the one seen last time (exit 1 if not)."""
    if url and checkpoint_file:
        raise click.UsageError("give --url or --checkpoint-file, not both")
    try:
        summary = monitor.run(state, monitor.Source(url=url, checkpoint_file=checkpoint_file), key)
    except monitor.MonitorError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.session.commit()  # a checkpoint this database signed for the check is kept
    click.echo(summary)
