"""`flask --app wsgi ...` commands. They call the same services as the routes."""
from __future__ import annotations

import time

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal import jobs, seed
from portal.achievements.cli import achievements_cli
from portal.audit.cli import audit_cli
from portal.auth import registration, services, two_factor
from portal.auth.cli import mail_cli
from portal.credentials.cli import credentials_cli
from portal.extensions import db
from portal.licenses.cli import keys_cli, licenses_cli
from portal.models.user import Role
from portal.privacy.cli import privacy_cli
from portal.seed import scale
from portal.stats.cli import stats_cli
from portal.transparency.cli import transparency_cli

users_cli = AppGroup("users", help="Manage accounts.")
seed_cli = AppGroup("seed", help="Fill the database with demo or bulk data.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(Role.ALL), required=True)
@click.option("--name", required=True)
@click.option("--password", default=None, help="Prompted for when not given.")
def users_create(email: str, role: str, name: str, password: str | None) -> None:
    """Create an active account (its address counts as confirmed: you vouch for it)."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        services.validate_new_password(password, email=email, name=name)
        user = services.create_user(email, name, role, password=password)
    except services.AuthError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {user.role} {user.email} (id {user.id}).")


@users_cli.command("totp")
@click.argument("email")
def users_totp(email: str) -> None:
    """Print a two-factor code of an account that would be accepted now (demo only)."""
    if current_app.config["PORTAL_ENV"] == "production":
        raise click.ClickException("Refused: PORTAL_ENV=production. This command is for the demo only.")
    user = services.find_user_by_email(email)
    if user is None or not two_factor.has_totp(user):
        raise click.ClickException(f"{email} has no two-factor sign-in.")
    usable = two_factor.usable_code(user)
    if usable is None:
        raise click.ClickException("Every code of this moment was used; try again in 30 seconds.")
    code, seconds = usable
    click.echo(f"{code}  (good for about {seconds} s, once)")


@users_cli.command("purge-unconfirmed")
@click.option("--days", type=click.IntRange(1), default=registration.UNCONFIRMED_DAYS, show_default=True,
              help="Remove accounts left unconfirmed this many days after registering.")
def users_purge_unconfirmed(days: int) -> None:
    """Remove self-registered accounts whose address was never confirmed (cron, idempotent)."""
    removed = registration.purge_unconfirmed(days=days)
    db.session.commit()
    click.echo(f"Removed {len(removed)} unconfirmed account{'s' if len(removed) != 1 else ''} "
               f"older than {days} days.")


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
def seed_demo(if_empty: bool) -> None:
    """A small academy with every feature in use; prints the demo logins."""
    if if_empty and seed.has_users():
        click.echo("The database already has data; demo data not added.")
        seed.print_logins(click.echo)
        return
    seed.demo()
    db.session.commit()
    click.echo("Demo academy created.")
    seed.print_logins(click.echo)


@seed_cli.command("scale")
@click.option("--students", type=click.IntRange(1), default=100_000, show_default=True)
@click.option("--audit-events", type=click.IntRange(0), default=1_000_000, show_default=True)
@click.option("--instructors", type=click.IntRange(1), default=None, help="[default: students / 500]")
@click.option("--classes", type=click.IntRange(1), default=None, help="[default: students / 50]")
@click.option("--licenses", type=click.IntRange(0), default=None, help="[default: 1.5 × students]")
@click.option("--pending", type=click.IntRange(0), default=None,
              help="Pending upgrade requests [default: students / 20].")
@click.option("--seed", "random_seed", type=int, default=2026, show_default=True,
              help="Random seed: the same seed gives the same academy.")
def seed_scale(students: int, audit_events: int, instructors: int | None, classes: int | None,
               licenses: int | None, pending: int | None, random_seed: int) -> None:
    """A large academy for benchmarks (bulk inserts; commits as it goes)."""
    size = scale.Size(students=students, audit_events=audit_events, instructors=instructors,
                      classes=classes, licenses=licenses, pending=pending)
    click.echo(f"Adding a scale academy: {size.students:,} students, {size.instructors:,} instructors, "
               f"{size.classes:,} classes, {size.licenses:,} licenses, {size.audit_events:,} audit events …")
    start = time.perf_counter()
    try:
        counts = scale.run(size, seed=random_seed, echo=click.echo)
    except scale.ScaleError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Done in {time.perf_counter() - start:.0f} s: "
               + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in counts.items()) + ".")
    click.echo(f"Logins (password for all: {scale.PASSWORD}): {scale.email('admin', 1)}, "
               f"{scale.email('instructor', 1)}, {scale.email('student', 1)}")


def register(app: Flask) -> None:
    # Each feature keeps its commands beside its services.
    for group in (users_cli, seed_cli, audit_cli, mail_cli, licenses_cli, keys_cli, jobs_cli,
                  achievements_cli, transparency_cli, privacy_cli, credentials_cli, stats_cli):
        app.cli.add_command(group)


jobs_cli = AppGroup("jobs", help="Background jobs.")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def jobs_worker(burst: bool) -> None:
    """Serve the job queue (needs REDIS_URL)."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException("REDIS_URL is not set: without Redis, jobs run inside the app.")
    click.echo("Portal job worker: waiting for jobs (Ctrl-C to stop).")
    jobs.work_loop(burst=burst)


@jobs_cli.command("run")
@click.argument("job_id", type=int)
def jobs_run(job_id: int) -> None:
    """Run or resume one job here and now (e.g. after a worker was killed)."""
    jobs.run(job_id)
    job = db.session.get(jobs.Job, job_id)
    if job is None:
        raise click.ClickException(f"No job {job_id}.")
    click.echo(f"job {job.id} {job.kind}: {job.status}, {job.done}/{job.total} "
               f"({job.succeeded} done, {job.skipped} skipped, {job.failed} failed)")
