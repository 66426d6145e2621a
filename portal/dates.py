"""Dates, times and numbers: read from outside and shown to a reader, in one place.

Reading. Python's dates end at 9999-12-31 and start at 0001-01-01, so a filter "up to the
end of 9999-12-31" (one day later) or "from 0001-01-01" moved to UTC overflows, and the
request ends in a 500. No date Portal asks for (a birth date, a period of the audit
trail) lies outside ``EARLIEST``..``LATEST``, so every date input is checked against
them here and a date beyond them is answered with a field error. A date is read as ISO
(``2026-11-30``, what ``<input type=date>`` sends) or in the reader's language's usual
short form (``30/11/2026`` in Spanish, ``2026. 11. 30.`` in Hungarian).

Showing (Babel, in the reader's language). Two kinds of time, never mixed up:

- an *instant* (an event, a login, a decision: a timezone-aware UTC ``datetime``) is shown
  in the reader's time zone, with the zone named: ``instant()``, ``day_of()``;
- a *calendar date* (a birth date, a license's expiry) is the same day for everyone:
  ``calendar_date()`` never moves it, whatever the reader's zone.

The reader's zone is a logged-in user's own ``timezone``; a visitor's (and a stored zone
this system does not know) the academy's ``PORTAL_TIMEZONE``; inside ``reading_as(user)``
(mail, documents for one person) that person's. Numbers: ``number()`` and ``percent()``.
"""
from __future__ import annotations

import re
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel import Locale
from babel import dates as babel_dates
from babel import numbers as babel_numbers
from flask import current_app, g, has_app_context, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField
from wtforms.validators import ValidationError

EARLIEST = date(1900, 1, 1)
LATEST = date(2099, 12, 31)

# Each language's translation names its own usual form beside ISO (parse() reads both).
NOT_A_DATE = _l("Enter a real date as YYYY-MM-DD, for example 2004-05-17.")
NOT_A_TIME = _l("Enter a date as YYYY-MM-DD, with a time as HH:MM if you like.")
OUT_OF_RANGE = _l("Enter a date between %(first)s and %(last)s.",
                  first=EARLIEST.isoformat(), last=LATEST.isoformat())


def problem(value: date | datetime | None, too_early: str = OUT_OF_RANGE,
            too_late: str = OUT_OF_RANGE) -> str | None:
    """What is wrong with ``value`` as a date Portal can work with, or None."""
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    if day < EARLIEST:
        return too_early
    if day > LATEST:
        return too_late
    return None


_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")
# The language's short form: three groups of digits separated by dots, slashes, dashes or
# spaces, in the order of the language's short date pattern, the year in full (so
# "30/11/85" is not read as 2085), a month beyond 12 refused rather than swapped.
_SHORT = re.compile(r"(\d{1,4})[./\- ]+(\d{1,4})[./\- ]+(\d{1,4})\.?")


# Languages read in ISO only: English readers write the month first or the day first,
# so 03/04/2026 would be a guess (a browser's date picker sends ISO anyway).
_ISO_ONLY = frozenset({"en"})


def _short_order() -> list[str]:
    """The order of year, month and day in the reader's language (Babel's short pattern:
    ``d/M/yy`` in Spanish, ``y. MM. dd.`` in Hungarian)."""
    pattern = babel_dates.get_date_format("short", locale=formats_locale()).pattern.lower()
    return sorted("ymd", key=lambda part: pattern.find(part))


def read(text: str | None) -> date:
    """The date in ``text``: ISO (YYYY-MM-DD) or the reader's language's usual short form
    (``30/11/2026`` in Spanish, ``2026. 11. 30.`` in Hungarian; English: ISO only).
    ValueError (NOT_A_DATE) for anything else; the range is not checked here."""
    text = (text or "").strip()
    try:
        if _ISO.fullmatch(text):  # YYYY-MM-DD only, not 20261123
            return date.fromisoformat(text)
        found = _SHORT.fullmatch(text)
        if found and formats_locale().language not in _ISO_ONLY:
            parts = dict(zip(_short_order(), found.groups(), strict=True))
            if len(parts["y"]) == 4:
                return date(int(parts["y"]), int(parts["m"]), int(parts["d"]))
    except ValueError:
        pass
    raise ValueError(NOT_A_DATE)


def parse(text: str) -> date:
    """A date within range, as ``read`` reads it; ValueError with a message people understand."""
    value = read(text)
    if message := problem(value):
        raise ValueError(message)
    return value


class LocalDateField(DateField):
    """A date field (``<input type=date>``) that also reads the language's short form;
    it shows its value as ISO, which is what the date input wants."""

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            self.data = read(" ".join(valuelist))
        except ValueError:
            self.data = None
            raise ValueError(self.invalid_value_message or NOT_A_DATE) from None


class InRange:
    """WTForms validator for date and date-time fields: within ``EARLIEST``..``LATEST``,
    with the field's own words for a date too early or too late when it has them.

    A value the field could not read is left to the field's own message (give the
    field ``invalid_value_message=NOT_A_DATE``)."""

    def __init__(self, too_early: str = OUT_OF_RANGE, too_late: str = OUT_OF_RANGE):
        self.too_early, self.too_late = too_early, too_late

    def __call__(self, form, field):
        if message := problem(field.data, self.too_early, self.too_late):
            raise ValidationError(message)


def date_field(label: str, validators=(), **kwargs) -> DateField:
    """A date field (ISO or the language's short form, ``read``) that reads only dates
    within range; ``validators`` run first (InputRequired or Optional), then the range
    check (``too_early``/``too_late``)."""
    bounds = {k: kwargs.pop(k) for k in ("too_early", "too_late") if k in kwargs}
    return LocalDateField(label, format="%Y-%m-%d", invalid_value_message=NOT_A_DATE,
                          validators=[*validators, InRange(**bounds)], **kwargs)


@cache
def zone_names() -> frozenset[str]:
    """The IANA zones this system knows (read once: the lookup walks the zone files)."""
    return frozenset(available_timezones())


@lru_cache(maxsize=1024)  # a page asks for every time it shows
def valid_zone(name: str | None) -> bool:
    """Whether ``name`` is an IANA zone this system knows (``Europe/Budapest``)."""
    if not name or name not in zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_name() -> str:
    """The reader's time zone: inside ``reading_as(user)`` that person's; else a logged-in
    user's own; for a visitor, outside a request and for a stored zone this system does
    not know, the academy's ``PORTAL_TIMEZONE``; UTC when even that is not a zone."""
    own = None
    if has_app_context() and g.get("portal_reader_zone"):
        own = g.portal_reader_zone
    elif has_request_context() and current_user and current_user.is_authenticated:
        own = getattr(current_user, "timezone", None)
    academy = current_app.config.get("PORTAL_TIMEZONE") if has_app_context() else None
    for name in (own, academy):
        if valid_zone(name):
            return name
    return "UTC"


def reader_zone() -> ZoneInfo:
    return ZoneInfo(zone_name())


@contextmanager
def reading_as(user):
    """Write for ``user`` (an e-mail, a letter): in their language and their time zone,
    whoever's request this is. Without a language of their own (a visitor registering),
    the request's language stays. Flask-Babel's own formatters follow too."""
    # Imported here: portal.i18n imports this module (select_timezone).
    from portal.i18n import known  # noqa: PLC0415
    before = g.get("portal_reader_zone")
    g.portal_reader_zone = getattr(user, "timezone", None) or "UTC"
    g.pop("babel_tzinfo", None)  # Flask-Babel's cached zone of this request
    language = known(getattr(user, "locale", None))
    try:
        with force_locale(language) if language else nullcontext():
            yield
    finally:
        g.portal_reader_zone = before
        g.pop("babel_tzinfo", None)


# -- showing: in the reader's language (Babel) --------------------------------------------------

# English reads dates as Portal always showed them: day month year, 24-hour clock.
_FORMATS = {"en": Locale("en", "GB")}


def formats_locale() -> Locale:
    """The Babel locale whose formats the reader gets: their language's (``en`` as en_GB)."""
    locale = get_locale() or Locale("en")
    if locale.territory is None and locale.language in _FORMATS:
        return _FORMATS[locale.language]
    return locale


def _zone(zone: str | None) -> ZoneInfo:
    return ZoneInfo(zone) if valid_zone(zone) else reader_zone()


def instant(value: datetime | None, seconds: bool = False, zone: str | None = None) -> str:
    """An event's moment in the reader's zone (or ``zone``), with the zone named:
    ``30 Nov 2026, 14:05 CET``, ``30 nov 2026, 7:05 CST``, ``2026. nov. 30. 14:05 CET``."""
    if value is None:
        return "—"
    return _instant(value, seconds, zone if valid_zone(zone) else zone_name(), formats_locale())


# A page shows the same moments to the same readers again and again (a list's rows, on
# every visit); their text depends on nothing else, so it is made once.
@lru_cache(maxsize=8192)
def _instant(value: datetime, seconds: bool, zone: str, locale: Locale) -> str:
    local = value.astimezone(ZoneInfo(zone))
    day = babel_dates.format_date(local, "medium", locale=locale)
    clock = babel_dates.format_time(local, "medium" if seconds else "short", locale=locale)
    joined = babel_dates.get_datetime_format("medium", locale=locale).format(clock, day)
    return f"{joined} {local.tzname()}"


_WIDTHS = ("short", "medium", "long", "full")


def _format_day(value: date, format: str) -> str:
    """``format`` is a width (``medium``: 30 Nov 2026) or a CLDR skeleton whose order the
    language decides (``MMMd``: 30 Nov, 30 nov, nov. 30.)."""
    return _day_text(value, format, formats_locale())


@lru_cache(maxsize=8192)
def _day_text(value: date, format: str, locale: Locale) -> str:
    if format in _WIDTHS:
        return babel_dates.format_date(value, format, locale=locale)
    return babel_dates.format_skeleton(format, value, locale=locale)


def day_of(value: datetime | date | None, format: str = "medium", zone: str | None = None) -> str:
    """The day an event happened, in the reader's zone (or ``zone``); a ``date`` as it is."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(_zone(zone)).date()
    return _format_day(value, format)


def calendar_date(value: datetime | date | None, format: str = "medium") -> str:
    """A calendar date (a birth date, a license's expiry): the same day in every zone.

    ``License.expires_at`` is stored as an instant (it is signed and hashed into the
    license's history as one), computed in UTC: its day is its UTC date."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return _format_day(value, format)


def _apply(pattern, value, digits: int | None) -> str:
    """``value`` through the locale's own ``pattern``, with ``digits`` decimals if given."""
    pattern = babel_numbers.parse_pattern(pattern.pattern)
    if digits is not None:
        pattern.frac_prec = (digits, digits)
    return pattern.apply(value, formats_locale())


def number(value: float | int | None, digits: int | None = None) -> str:
    """A count or amount with the language's separators (``1,234``, ``1.234``, ``1 234``)."""
    if value is None:
        return "—"
    return _apply(formats_locale().decimal_formats[None], value, digits)


def percent(value: float | None, digits: int = 0) -> str:
    """A share (0.256) as a percentage in the language's way (``26%``, ``25,6 %``)."""
    if value is None:
        return "—"
    return _apply(formats_locale().percent_formats[None], value, digits)


# -- showing many: one list's times and days, the zone and the language found once -------------


def instants(seconds: bool = False, zone: str | None = None):
    """``instant`` for the many times of one list (the audit trail's fifty rows): the
    reader's zone and language are looked up once, not for every row."""
    name, locale = (zone if valid_zone(zone) else zone_name()), formats_locale()

    def show(value: datetime | None) -> str:
        return "—" if value is None else _instant(value, seconds, name, locale)

    return show


def days_of(format: str = "medium", zone: str | None = None):
    """``day_of`` for the many days of one list: the zone and language looked up once."""
    tz, locale = _zone(zone), formats_locale()

    def show(value: datetime | date | None) -> str:
        if value is None:
            return "—"
        if isinstance(value, datetime):
            value = value.astimezone(tz).date()
        return _day_text(value, format, locale)

    return show
