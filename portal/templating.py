"""Jinja filters and globals shared by every template."""
from __future__ import annotations

from datetime import UTC, date, datetime

from flask import Flask, request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from markupsafe import Markup

from portal import dates
from portal.audit.describe import describe, job_title
from portal.models.user import Role
from portal.names import display_name


def user_zone():
    """The reader's zone (portal.dates.zone_name)."""
    return dates.reader_zone()


def local_time(value: datetime | None, fmt: str | None = None, zone: str | None = None) -> str:
    """An event's moment in the reader's zone, formatted for their language, with the zone
    named (portal.dates.instant). ``fmt`` is read only for whether it shows seconds
    (``'%S'`` in it, as the audit trail asks); the language decides the rest."""
    return dates.instant(value, seconds=bool(fmt and "%S" in fmt), zone=zone)


def local_date(value: datetime | date | None, format: str = "medium", zone: str | None = None) -> str:
    """The day of an event in the reader's zone; a ``date`` (a birth date) as it is."""
    return dates.day_of(value, format, zone)


def iso(value: datetime | None) -> str:
    return value.astimezone(UTC).isoformat() if value else ""


def translated_once(words: dict) -> dict[str, Markup]:
    """``words`` (lazy strings) in the reader's language, each translated now, as a page's
    ``_()`` gives them; one with a placeholder is filled in with ``|format`` (which escapes
    the values, as ``_()`` does)."""
    return {key: Markup(str(word)) for key, word in words.items()}


# The words of a checklist (_macros/ui.html), for a page that shows many checklists.
CHECKLIST_WORDS = {
    "met": lazy_gettext("(met)"),
    "open": lazy_gettext("(not yet met)"),
    "confirmed": lazy_gettext("confirmed %(date)s"),
    "tally": lazy_gettext("Requirements confirmed"),
    "of": lazy_gettext("%(done)d of %(total)d"),
    "of_confirmed": lazy_gettext("%(done)d of %(total)d confirmed"),
    "empty": lazy_gettext("No requirements are listed for this level."),
}


def register(app: Flask) -> None:
    static_urls: dict[tuple[str, str], str] = {}

    def static_url(filename: str) -> str:
        """``url_for('static', filename=...)``, built once per file (and mount point):
        the layout asks for the same five on every page."""
        key = (request.script_root, filename)
        url = static_urls.get(key)
        if url is None:
            url = static_urls[key] = url_for("static", filename=filename)
        return url

    app.jinja_env.globals["static_url"] = static_url
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["local_date"] = local_date
    app.jinja_env.filters["calendar_date"] = dates.calendar_date
    app.jinja_env.filters["number"] = dates.number
    app.jinja_env.filters["percent"] = dates.percent
    app.jinja_env.filters["iso"] = iso
    app.jinja_env.globals["checklist_words"] = lambda: translated_once(CHECKLIST_WORDS)
    app.jinja_env.globals["Role"] = Role
    app.jinja_env.globals["display_name"] = display_name
    app.jinja_env.globals["describe_event"] = lambda event: describe(
        event, current_user if current_user.is_authenticated else None)
    app.jinja_env.globals["job_title"] = job_title
    app.jinja_env.globals["academy_name"] = app.config["PORTAL_ACADEMY_NAME"]
