"""Every date input, range-checked and answered with a field error (never a 500).

Python's dates stop at 0001-01-01 and 9999-12-31: a "To" of 9999-12-31 (one day
later, the end of that day) or a "From" of 0001-01-01 moved to UTC overflowed, and
the audit viewer, its export, the statistics and the security view answered 500.
"""
from __future__ import annotations

import base64
import json
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from portal import dates
from portal.extensions import db
from portal.models.user import Role, User
from tests.support.http import login

EXTREMES = ["9999-12-31", "0001-01-01"]
MALFORMED = ["2026-02-30", "abc", "99999-01-01", "2026-1-1x", "-1"]


def _field_error(html: str, field_id: str) -> str:
    marker = f'id="{field_id}-error"'
    assert marker in html, html[:3000]
    return html.split(marker, 1)[1].split("</small>", 1)[0]


@pytest.fixture
def admin_client(app, client, make_user):
    login(client, make_user(Role.ADMIN))
    return client


# -- the shared check --------------------------------------------------------------------------


def test_the_shared_check_knows_the_bounds():
    assert dates.problem(dates.EARLIEST) is None and dates.problem(dates.LATEST) is None
    assert dates.problem(date(9999, 12, 31)) == dates.OUT_OF_RANGE
    assert dates.problem(datetime(1, 1, 1, 0, 0)) == dates.OUT_OF_RANGE
    assert dates.problem(date(1850, 1, 1), too_early="early", too_late="late") == "early"
    assert dates.parse(" 2026-11-23 ") == date(2026, 11, 23)
    for text in [*EXTREMES, *MALFORMED, "20261123", ""]:
        with pytest.raises(ValueError, match="Enter a"):
            dates.parse(text)


# -- the audit viewer, its export, statistics and the security view --------------------------


@pytest.mark.parametrize("value", EXTREMES + [v + "T23:59" for v in EXTREMES] + MALFORMED)
@pytest.mark.parametrize("name", ["start", "end"])
def test_audit_filter_dates_are_field_errors(admin_client, name, value):
    response = admin_client.get("/audit/", query_string={name: value})
    assert response.status_code == 422
    message = _field_error(response.get_data(as_text=True), name)
    assert "Enter a date" in message
    # The live filter (htmx) names the field in its alert.
    partial = admin_client.get("/audit/", query_string={name: value}, headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert partial.status_code == 422 and "<html" not in body
    assert ("From: " if name == "start" else "To: ") + "Enter a date" in body


@pytest.mark.parametrize("value", EXTREMES + MALFORMED)
def test_audit_export_refuses_dates_out_of_range(admin_client, value, audit_events):
    response = admin_client.get("/audit/export.csv", query_string={"end": value})
    assert response.status_code == 422
    assert "Enter a date" in _field_error(response.get_data(as_text=True), "end")
    assert audit_events("audit.exported") == []


@pytest.mark.parametrize("value", EXTREMES + MALFORMED)
@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("page", ["stats", "security"])
def test_period_dates_are_field_errors(admin_client, page, name, value):
    for headers in ({}, {"HX-Request": "true"}):
        response = admin_client.get(f"/audit/{page}", query_string={name: value}, headers=headers)
        assert response.status_code == 422
        message = _field_error(response.get_data(as_text=True), name)
        expected = str(dates.OUT_OF_RANGE if value in EXTREMES else dates.NOT_A_DATE)
        assert expected in message


def test_the_widest_period_allowed_still_answers(admin_client):
    response = admin_client.get("/audit/", query_string={"start": "1900-01-01", "end": "2099-12-31"})
    assert response.status_code == 200
    response = admin_client.get("/audit/stats", query_string={"from": "2098-01-01", "to": "2099-12-31"})
    assert response.status_code == 200


# -- dates of birth --------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "words"), [
    ("9999-12-31", "must be in the past"),
    ("0001-01-01", "check the year"),
    *[(v, "Enter a real date as YYYY-MM-DD") for v in MALFORMED],
])
def test_registration_date_of_birth_is_range_checked(app, client, value, words):
    for headers in ({}, {"HX-Request": "true"}):
        response = client.post("/auth/register", headers=headers, data={
            "name": "Dana Date", "email": "dana.date@example.org",
            "password": "a long unusual passphrase 5", "confirm_password": "a long unusual passphrase 5",
            "date_of_birth": value,
        })
        assert response.status_code == 422
        assert words in _field_error(response.get_data(as_text=True), "date_of_birth")
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.email == "dana.date@example.org")) is None


@pytest.mark.parametrize(("value", "words"), [
    ("9999-12-31", "must be in the past"),
    ("0001-01-01", "check the year"),
    *[(v, "Enter a real date as YYYY-MM-DD") for v in MALFORMED],
])
def test_admin_date_of_birth_is_range_checked(admin_client, value, words):
    response = admin_client.post("/admin/users/new", data={
        "name": "Dana Date", "email": "dana.date@example.org", "role": "student", "date_of_birth": value,
    })
    assert response.status_code == 422
    assert words in _field_error(response.get_data(as_text=True), "date_of_birth")
    with admin_client.application.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.email == "dana.date@example.org")) is None


# -- the admin lists' cursors (a time from the address) ---------------------------------------


def _cursor(value, row_id=1) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, row_id]).encode()).decode().rstrip("=")


@pytest.mark.parametrize(("path", "sort", "value", "row_id"), [
    ("/admin/users", "newest", {"t": "9999-12-31T23:59:59-14:00"}, 1),
    ("/admin/users", "newest", {"t": "0001-01-01T00:00:00+14:00"}, 1),
    ("/admin/users", "newest", {"t": "2026-01-01T00:00:00"}, 1),  # no time zone
    ("/admin/users", "newest", "abc", 1),
    ("/admin/users", "oldest", 5, 1),
    ("/admin/users", "name", {"t": "2026-01-01T00:00:00+00:00"}, 1),
    ("/admin/users", "name", None, 1),
    ("/admin/users", "email", "a@example.test", 2**40),
    ("/admin/licenses", None, {"t": "9999-12-31T00:00:00+00:00"}, 1),
    ("/admin/licenses", None, 2**40, 1),
])
def test_a_changed_list_cursor_is_the_first_page(admin_client, path, sort, value, row_id):
    query = {"after": _cursor(value, row_id), **({"sort": sort} if sort else {})}
    response = admin_client.get(path, query_string=query)
    assert response.status_code == 200
    first = admin_client.get(path, query_string={"sort": sort} if sort else {})
    assert response.get_data(as_text=True).count("<tr") == first.get_data(as_text=True).count("<tr")
