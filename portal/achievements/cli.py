"""`flask --app wsgi achievements rebuild`"""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.achievements import services
from portal.extensions import db

achievements_cli = AppGroup("achievements", help="Achievements derived from the portal's history.")


@achievements_cli.command("rebuild")
@click.option("--fix", is_flag=True, help="Give the missing awards (an award is never taken back).")
def achievements_rebuild(fix: bool) -> None:
    """Recompute every award from the audit trail, license history and certificate checks,
    and report each difference from the stored awards (exit 1 when any remains). Without
    --fix nothing is changed."""
    differences = services.rebuild(fix=fix)
    if fix:
        db.session.commit()
    else:
        db.session.rollback()
    if not differences:
        click.echo("Every award matches the history.")
        return
    left = 0
    for d in differences:
        a = d.achievement
        name = f"#{a.id} {a.title!r} ({a.trigger}, count {a.count})"
        if d.missing:
            verb = "given now" if fix else "missing"
            click.echo(f"{name}: {len(d.missing)} {verb} (user ids {_ids(d.missing)})")
            left += not fix
        if d.unexplained:
            click.echo(
                f"{name}: {len(d.unexplained)} not explained by history, kept "
                f"(user ids {_ids(d.unexplained)})"
            )
            left += 1
    if left:
        raise click.ClickException("the stored awards differ from the history (see above).")


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:20])
    return shown + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
