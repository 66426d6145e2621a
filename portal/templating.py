"""Jinja filters and globals shared by every template."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import Flask
from flask_login import current_user

from portal.audit.describe import describe, job_title
from portal.dates import zone_name
from portal.models.user import Role


def user_zone() -> ZoneInfo:
    """The reader's zone (portal.dates.zone_name)."""
    return ZoneInfo(zone_name())


def local_time(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    """A timestamp in the user's time zone, with the zone named."""
    if value is None:
        return "—"
    zone = user_zone()
    local = value.astimezone(zone)
    return f"{local.strftime(fmt)} {local.tzname()}"


def local_date(value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(user_zone()).date()
    return value.strftime("%d %b %Y")


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def register(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["describe_event"] = lambda event: describe(
        event, current_user if current_user.is_authenticated else None)
    app.jinja_env.globals["job_title"] = job_title
    app.jinja_env.globals["academy_name"] = app.config["PORTAL_ACADEMY_NAME"]
