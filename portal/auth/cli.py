"""`flask --app wsgi mail ...`"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from portal.mail import outbox_messages

mail_cli = AppGroup("mail", help="The outgoing mail.")


@mail_cli.command("outbox")
@click.option("--limit", "-n", default=10, show_default=True, help="How many messages to list.")
@click.option("--show", is_flag=True, help="Also print the text of the newest message.")
def outbox(limit: int, show: bool) -> None:
    """List the newest messages in the local outbox (used when MAIL_SERVER is unset)."""
    folder = current_app.config["MAIL_OUTBOX"]
    if current_app.config.get("MAIL_SERVER"):
        click.echo(
            f"Mail is sent through {current_app.config['MAIL_SERVER']}; "
            "the outbox only holds messages written while no server was set."
        )
    click.echo(f"Outbox: {folder}")
    messages = outbox_messages(folder, limit)
    if not messages:
        click.echo("No messages.")
        return
    for path, message in messages:
        click.echo(f"{message['Date']}  to {message['To']}  {message['Subject']}  [{path.name}]")
    if show:
        path, message = messages[0]
        body = message.get_body(preferencelist=("plain",))
        click.echo("")
        click.echo(body.get_content() if body is not None else "")
