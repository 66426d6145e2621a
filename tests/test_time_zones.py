"""Dates, times, numbers and names for the reader: their zone, their language (portal.dates,
portal.names).

Every moment here is fixed: nothing depends on today. The zones' rules come from tzdata:
Europe/Budapest moves its clocks on the last Sundays of March and October at 01:00 UTC;
America/Mexico_City kept daylight saving time until 30 October 2022 and has been at
UTC-6 all year since.
"""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import g, render_template_string
from flask_babel import force_locale
from flask_babel import format_datetime as babel_format_datetime

from portal import dates
from portal.auth import tokens
from portal.extensions import db
from portal.licenses import certificates
from portal.models.license import License
from portal.models.user import User
from portal.names import display_name
from tests.support.http import login

BUDAPEST, MEXICO = "Europe/Budapest", "America/Mexico_City"


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def shown(app, value, language, zone, *, seconds=False):
    """``value`` as a reader in ``zone`` reading ``language`` sees it."""
    with app.test_request_context(), force_locale(language):
        return dates.instant(value, seconds=seconds, zone=zone)


# -- instants across the clock changes ---------------------------------------------------------


@pytest.mark.parametrize(("moment", "language", "expected"), [
    # Spring forward (29 March 2026): 01:59 CET, then 03:00 CEST a minute later.
    (at(2026, 3, 29, 0, 59), "en", "29 Mar 2026, 01:59 CET"),
    (at(2026, 3, 29, 1, 0), "en", "29 Mar 2026, 03:00 CEST"),
    (at(2026, 3, 29, 0, 59), "es", "29 mar 2026, 1:59 CET"),
    (at(2026, 3, 29, 1, 0), "es", "29 mar 2026, 3:00 CEST"),
    (at(2026, 3, 29, 0, 59), "hu", "2026. márc. 29. 1:59 CET"),
    (at(2026, 3, 29, 1, 0), "hu", "2026. márc. 29. 3:00 CEST"),
    # Fall back (25 October 2026): 02:30 happens twice, once in summer time, once in winter.
    (at(2026, 10, 25, 0, 30), "en", "25 Oct 2026, 02:30 CEST"),
    (at(2026, 10, 25, 1, 30), "en", "25 Oct 2026, 02:30 CET"),
    (at(2026, 10, 25, 1, 30), "hu", "2026. okt. 25. 2:30 CET"),
    # Late in the UTC evening it is already tomorrow in Budapest.
    (at(2026, 11, 30, 23, 30), "es", "1 dic 2026, 0:30 CET"),
])
def test_an_instant_in_budapest(app, moment, language, expected):
    assert shown(app, moment, language, BUDAPEST) == expected


@pytest.mark.parametrize(("moment", "language", "expected"), [
    # The last change: 30 October 2022, 02:00 CDT became 01:00 CST (07:00 UTC).
    (at(2022, 10, 30, 6, 30), "en", "30 Oct 2022, 01:30 CDT"),
    (at(2022, 10, 30, 7, 30), "en", "30 Oct 2022, 01:30 CST"),
    # Since then no change: the first Sunday of April 2026 keeps UTC-6 (no more 03:30 CDT).
    (at(2026, 4, 5, 8, 30), "es", "5 abr 2026, 2:30 CST"),
    (at(2026, 7, 1, 18, 0), "es", "1 jul 2026, 12:00 CST"),
    # Early in the UTC morning it is still yesterday in Mexico City.
    (at(2026, 12, 1, 5, 30), "es", "30 nov 2026, 23:30 CST"),
    (at(2026, 12, 1, 5, 30), "hu", "2026. nov. 30. 23:30 CST"),
    (at(2026, 12, 1, 5, 30), "en", "30 Nov 2026, 23:30 CST"),
])
def test_an_instant_in_mexico_city(app, moment, language, expected):
    assert shown(app, moment, language, MEXICO) == expected


def test_seconds_when_asked(app):
    moment = at(2026, 3, 29, 1, 0, 7)
    assert shown(app, moment, "en", BUDAPEST, seconds=True) == "29 Mar 2026, 03:00:07 CEST"
    assert shown(app, moment, "hu", BUDAPEST, seconds=True) == "2026. márc. 29. 3:00:07 CEST"


# -- whose zone: the user's, a visitor's, an unknown one ------------------------------------------


def _as_reader(app, user, template: str, **context) -> str:
    """Render ``template`` in a request of ``user`` (None: a visitor)."""
    with app.test_request_context():
        g._login_user = user if user is not None else app.login_manager.anonymous_user()
        return render_template_string(template, **context)


def _user(make_user, zone: str, locale: str | None) -> User:
    user = make_user()
    user.timezone, user.locale = zone, locale
    return user


def test_a_page_shows_an_instant_in_the_users_zone_and_language(app, make_user):
    moment = at(2026, 12, 1, 5, 30)
    template = "{{ moment|local_time }} · {{ moment|local_date }}"
    assert _as_reader(app, _user(make_user, MEXICO, "es"), template, moment=moment) == (
        "30 nov 2026, 23:30 CST · 30 nov 2026")
    assert _as_reader(app, _user(make_user, BUDAPEST, "hu"), template, moment=moment) == (
        "2026. dec. 1. 6:30 CET · 2026. dec. 1.")
    # Flask-Babel's own formatters use the same zone.
    with app.test_request_context():
        g._login_user = _user(make_user, MEXICO, "en")
        assert babel_format_datetime(moment, "yyyy-MM-dd HH:mm") == "2026-11-30 23:30"


def test_a_visitor_gets_the_academys_zone(app_factory):
    app = app_factory(PORTAL_TIMEZONE=BUDAPEST)
    assert _as_reader(app, None, "{{ m|local_time }}", m=at(2026, 7, 1, 22, 15)) == "2 Jul 2026, 00:15 CEST"
    assert _as_reader(app, None, "{{ m|local_time }}", m=at(2026, 1, 1, 22, 15)) == "1 Jan 2026, 23:15 CET"


@pytest.mark.parametrize("stored", ["Mars/Olympus_Mons", "", "../../etc/passwd", "cet "])
def test_an_unknown_stored_zone_falls_back_quietly(app_factory, make_user, stored):
    app = app_factory(PORTAL_TIMEZONE=MEXICO)
    with app.app_context():
        user = _user(make_user, stored, "en")
    assert _as_reader(app, user, "{{ m|local_time }}", m=at(2026, 12, 1, 5, 30)) == "30 Nov 2026, 23:30 CST"
    # And when even the academy's zone is unknown: UTC.
    broken = app_factory(PORTAL_TIMEZONE="Nowhere/Else")
    assert _as_reader(broken, user, "{{ m|local_time }}", m=at(2026, 12, 1, 5, 30)) == "1 Dec 2026, 05:30 UTC"


def test_writing_to_someone_uses_their_language_and_zone(app, make_user):
    """A letter for a person (an e-mail) is in their language and zone, whoever's request
    sends it; afterwards the request's own reader is back."""
    moment = at(2026, 12, 1, 5, 30)
    eszter = make_user(name="Eszter Kovács")
    eszter.timezone, eszter.locale = BUDAPEST, "hu"
    eszter.given_name, eszter.family_name = "Eszter", "Kovács"
    with app.test_request_context():
        g._login_user = _user(make_user, MEXICO, "es")
        with dates.reading_as(eszter):
            letter = render_template_string("{{ display_name(u) }}: {{ m|local_time }}", u=eszter, m=moment)
            assert babel_format_datetime(moment, "HH:mm") == "06:30"
        after = render_template_string("{{ display_name(u) }}: {{ m|local_time }}", u=eszter, m=moment)
    assert letter == "Kovács Eszter: 2026. dec. 1. 6:30 CET"
    assert after == "Eszter Kovács: 30 nov 2026, 23:30 CST"


# -- calendar dates never move -----------------------------------------------------------------


@pytest.mark.parametrize("expiry", [
    at(2027, 3, 1, 0, 30),   # just after midnight UTC: the day before in Mexico City
    at(2027, 3, 1, 23, 30),  # late in the UTC day: the day after in Budapest
    at(2027, 7, 1, 23, 30),  # Budapest in summer time, UTC+2
])
@pytest.mark.parametrize(("zone", "locale"), [(MEXICO, "es"), (BUDAPEST, "hu"), ("UTC", "en")])
def test_an_expiry_date_is_the_same_day_for_everyone(app, make_user, expiry, zone, locale):
    reader = _user(make_user, zone, locale)
    with app.test_request_context(), force_locale(locale):
        expected = dates.calendar_date(expiry.date())
    assert _as_reader(app, reader, "{{ d|calendar_date }}", d=expiry) == expected


def test_the_license_page_shows_the_expiry_day_of_the_license(
        app, client, make_user, make_specialization, make_license):
    holder = make_user(email="mateo@example.test")
    spec = make_specialization()
    license = make_license(holder, spec)
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == holder.id)
                           .values(timezone=MEXICO, locale="es"))
        db.session.execute(sa.update(License).where(License.id == license.id)
                           .values(expires_at=at(2027, 3, 1, 0, 30)))
        db.session.commit()
    login(client, holder)
    body = client.get(f"/licenses/{license.id}").get_data(as_text=True)
    assert "1 mar 2027" in body and "28 feb 2027" not in body
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == holder.id)
                           .values(timezone=BUDAPEST, locale="hu"))
        db.session.execute(sa.update(License).where(License.id == license.id)
                           .values(expires_at=at(2027, 7, 1, 23, 30)))
        db.session.commit()
    body = client.get(f"/licenses/{license.id}").get_data(as_text=True)
    assert "2027. júl. 1." in body and "2027. júl. 2." not in body


def test_dates_in_long_and_short_forms(app):
    with app.test_request_context():
        for language, long_form, chart in [("en", "30 November 2026", "30 Nov"),
                                           ("es", "30 de noviembre de 2026", "30 nov"),
                                           ("hu", "2026. november 30.", "nov. 30.")]:
            with force_locale(language):
                assert dates.calendar_date(date(2026, 11, 30), "long") == long_form
                assert dates.calendar_date(date(2026, 11, 30), "MMMd") == chart
                assert dates.day_of(at(2026, 11, 30, 23, 30), "long", zone="UTC") == long_form


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "count", "share", "rounded"), [
    ("en", "12,345", "25.6%", "50%"),
    ("es", "12.345", "25,6\xa0%", "50\xa0%"),
    ("hu", "12\xa0345", "25,6%", "50%"),
])
def test_numbers_and_percentages_in_the_language(app, language, count, share, rounded):
    with app.test_request_context(), force_locale(language):
        assert dates.number(12345) == count
        assert dates.percent(0.256, 1) == share
        assert dates.percent(0.5) == rounded
        rendered = render_template_string("{{ n|number }} · {{ p|percent(1) }}", n=12345, p=0.256)
    assert rendered == f"{count} · {share}"


def test_numbers_with_fixed_decimals(app):
    with app.test_request_context():
        with force_locale("hu"):
            assert dates.number(1234.5, 2) == "1\xa0234,50"
        with force_locale("es"):
            assert dates.number(None) == "—" and dates.percent(None) == "—"


# -- reading dates people type -------------------------------------------------------------------


@pytest.mark.parametrize(("language", "text"), [
    ("es", "30/11/2026"), ("es", "30-11-2026"), ("es", "2026-11-30"),
    ("hu", "2026. 11. 30."), ("hu", "2026.11.30"), ("hu", "2026-11-30"),
    ("en", "2026-11-30"),
])
def test_a_date_is_read_in_the_languages_form_or_iso(app, language, text):
    with app.test_request_context(), force_locale(language):
        assert dates.parse(text) == date(2026, 11, 30)


@pytest.mark.parametrize(("language", "text"), [
    ("es", "31/02/2026"), ("es", "30/11/26"), ("es", "2026. 11. 30."), ("es", "30 de noviembre"),
    ("hu", "30/11/2026"), ("hu", "2026. 13. 01."), ("hu", "20261130"), ("hu", "2026. 11. 31."),
    ("en", "2026-1-1x"), ("en", "2026-02-30"), ("en", ""),
    # English is written month first and day first: only ISO is not a guess.
    ("en", "30/11/2026"), ("en", "11/30/2026"),
])
def test_a_date_that_is_not_one_is_refused_in_the_language(app, language, text):
    with app.test_request_context(), force_locale(language):
        with pytest.raises(ValueError) as refused:
            dates.parse(text)
        assert str(refused.value) == str(dates.NOT_A_DATE)


def test_the_range_check_holds_in_every_form(app):
    with app.test_request_context():
        with force_locale("es"), pytest.raises(ValueError, match="2099-12-31"):
            dates.parse("01/01/2100")
        with force_locale("hu"), pytest.raises(ValueError, match="1900-01-01"):
            dates.parse("1899. 12. 31.")


def test_the_registration_form_reads_a_spanish_birth_date(app, client):
    response = client.post("/auth/register?lang=es", data={
        "name": "Mateo Hernández", "email": "mateo.h@example.org",
        "password": "a long unusual passphrase 5", "confirm_password": "a long unusual passphrase 5",
        "date_of_birth": "05/08/2000",
    })
    assert response.status_code in (200, 302, 303), response.get_data(as_text=True)[:2000]
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "mateo.h@example.org"))
        assert user is not None and user.date_of_birth == date(2000, 8, 5)


def test_the_admin_form_refuses_a_hungarian_date_that_is_not_one(app, client, make_user):
    admin = make_user("admin")
    login(client, admin)
    response = client.post("/admin/users/new?lang=hu", data={
        "name": "Dana Date", "email": "dana.date@example.org", "role": "student",
        "date_of_birth": "2026. 02. 30.",
    })
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.email == "dana.date@example.org")) is None


# -- names ------------------------------------------------------------------------------------


class Person:
    def __init__(self, name, given=None, family=None):
        self.name, self.given_name, self.family_name = name, given, family


@pytest.mark.parametrize(("person", "locale", "expected"), [
    (Person("Eszter Kovács", "Eszter", "Kovács"), "hu", "Kovács Eszter"),
    (Person("Eszter Kovács", "Eszter", "Kovács"), "hu_HU", "Kovács Eszter"),
    (Person("Eszter Kovács", "Eszter", "Kovács"), "en", "Eszter Kovács"),
    (Person("Eszter Kovács", "Eszter", "Kovács"), "es", "Eszter Kovács"),
    # Only one part known, or none: the name as written, never split.
    (Person("Eszter Kovács", "Eszter", None), "hu", "Eszter Kovács"),
    (Person("Eszter Kovács", None, " "), "hu", "Eszter Kovács"),
    (Person("Mateo Hernández García"), "hu", "Mateo Hernández García"),
    # The parts need not repeat the written name: an admin may fill them as the person asks.
    (Person("Dr. Anna Szabó-Nagy", "Anna", "Szabó-Nagy"), "hu", "Szabó-Nagy Anna"),
])
def test_display_name(person, locale, expected):
    assert display_name(person, locale) == expected


def test_display_name_follows_the_language_being_written(app):
    eszter = Person("Eszter Kovács", "Eszter", "Kovács")
    with app.test_request_context():
        with force_locale("hu"):
            assert display_name(eszter) == "Kovács Eszter"
        with force_locale("es"):
            assert display_name(eszter) == "Eszter Kovács"


def test_a_mail_is_written_in_the_recipients_language_and_zone(app, make_user):
    """The password-changed notice names the moment in the recipient's zone, and greets a
    Hungarian reader family name first, whoever's request sends it."""
    eszter = make_user(name="Eszter Kovács")
    eszter.timezone, eszter.locale = BUDAPEST, "hu"
    eszter.given_name, eszter.family_name = "Eszter", "Kovács"
    with app.test_request_context():
        g._login_user = app.login_manager.anonymous_user()
        text = tokens.render_mail("password_changed", user=eszter, when=at(2026, 7, 1, 22, 15),
                                  forgot_url="http://portal.test/auth/forgot-password")
    assert "Kovács Eszter" in text
    assert "2026. júl. 2. 0:15 CEST" in text


def test_the_certificate_names_a_hungarian_holder_family_name_first_and_keeps_its_days(
        app_factory, make_user, make_specialization, make_license):
    app = app_factory(PORTAL_TIMEZONE=BUDAPEST)
    holder = make_user(name="Eszter Kovács")
    license = make_license(holder, make_specialization())
    with app.test_request_context():
        db.session.execute(sa.update(User).where(User.id == holder.id)
                           .values(given_name="Eszter", family_name="Kovács", timezone=MEXICO))
        db.session.execute(sa.update(License).where(License.id == license.id).values(
            issued_at=at(2026, 7, 1, 22, 30), expires_at=at(2028, 7, 1, 22, 30)))
        lic = db.session.get(License, license.id)
        with force_locale("hu"):
            hungarian = certificates.html_for(lic)
        with force_locale("es"):
            spanish = certificates.html_for(lic)
        db.session.rollback()
    assert "Kovács Eszter" in hungarian and "Eszter Kovács" in spanish
    # Issued late on 1 July UTC: 2 July in the academy's zone, whoever downloads it; the
    # expiry is the day it was set to.
    assert "2026. július 2." in hungarian and "2 de julio de 2026" in spanish
    assert "2028. július 1." in hungarian and "1 de julio de 2028" in spanish


@pytest.mark.parametrize("language", ["en", "es", "hu"])
@pytest.mark.parametrize("zone", [None, BUDAPEST, MEXICO])
def test_a_lists_formatters_write_what_the_filters_write(app, language, zone):
    # The audit trail and the user list format their rows with dates.instants/days_of
    # (the zone and language found once per page): the same text as instant/day_of.
    moments = [datetime(2022, 10, 30, 0, 30, tzinfo=UTC), datetime(2022, 10, 30, 1, 30, tzinfo=UTC),
               datetime(2026, 3, 29, 23, 59, 59, tzinfo=UTC), None]
    with app.test_request_context(), force_locale(language):
        for seconds in (False, True):
            show = dates.instants(seconds=seconds, zone=zone)
            assert [show(m) for m in moments] == [dates.instant(m, seconds, zone) for m in moments]
        for format in ("medium", "MMMd"):
            show = dates.days_of(format, zone)
            values = [*moments, date(2004, 5, 17)]
            assert [show(v) for v in values] == [dates.day_of(v, format, zone) for v in values]
