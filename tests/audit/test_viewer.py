"""The audit viewer: filters, keyset paging, htmx and no-JS paths, event and resource pages."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.audit import actions, queries
from portal.audit.queries import AuditFilter
from portal.audit.routes import changes_of
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.user import Role
from tests.support.audit import BASE
from tests.support.http import login
from tests.support.queries import of_request


def shown_ids(html: str) -> list[int]:
    """Ids of the events listed, in order."""
    return [int(n) for n in re.findall(r'<td data-label="#"><a href="/audit/events/(\d+)"', html)]


def numbered(html: str, ids: list[int]) -> list[int]:
    """The listed events that a test made, as 1-based positions in ``ids``."""
    return [ids.index(i) + 1 for i in shown_ids(html) if i in ids]


@pytest.fixture
def scene(app, make_user, add_events, client):
    """A small log with known values; logs an admin in (whose login adds events too)."""
    alice = make_user(Role.STUDENT, email="alice@example.test", name="Alice Archer")
    bob = make_user(Role.INSTRUCTOR, email="bob@example.test", name="Bob Baker")
    t = BASE
    ids = add_events(
        {'at': t, 'action': actions.LOGIN, 'actor': alice, 'resource': ("user", alice.id), 'ip': "10.1.2.3"},
        {'at': t + timedelta(hours=1), 'action': actions.LOGIN_FAILED, 'actor': alice, 'ip': "10.1.9.9",
             'outcome': "failure", 'resource': ("user", alice.id)},
        {'at': t + timedelta(hours=2), 'action': actions.LICENSE_ISSUED, 'actor': bob,
             'resource': ("license", 7), 'ip': "192.168.5.1"},
        {'at': t + timedelta(hours=3), 'action': actions.ACCESS_DENIED, 'actor': alice, 'ip': "2001:db8::5",
             'outcome': "denied", 'status': 403},
        {'at': t + timedelta(hours=4), 'action': actions.LICENSE_SUSPENDED, 'actor': bob,
             'resource': ("license", 7), 'ip': "10.2.0.1", 'before': {"status": "active"},
             'after': {"status": "suspended"}},
        {'at': t + timedelta(days=1), 'action': actions.LOGIN, 'actor': bob, 'resource': ("user", bob.id),
             'ip': "10.1.2.3"},
    )
    admin = make_user(Role.ADMIN, email="root@example.test", name="Ada Admin")
    login(client, admin)
    return {"alice": alice, "bob": bob, "admin": admin, "t": t, "ids": ids}


def get(client, query="", **headers):
    response = client.get("/audit/" + query, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:800]
    return response.get_data(as_text=True)


def test_lists_newest_first_with_links(client, scene, app):
    html = get(client)
    with app.app_context():
        newest_first = db.session.scalars(
            sa.select(AuditEvent.id).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())).all()
    assert shown_ids(html) == newest_first
    assert numbered(html, scene["ids"]) == [6, 5, 4, 3, 2, 1]
    assert 'href="/audit/events/' in html and 'href="/audit/resource/license/7"' in html
    assert "/audit/?actor=bob%40example.test" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?actor=alice", [4, 2, 1]),
        ("?actor=Bob+Bak", [6, 5, 3]),
        ("?actor=ALICE%40example.test", [4, 2, 1]),
        ("?action=auth.login", [6, 1]),
        ("?action=auth.login&action=license.issued", [6, 3, 1]),
        ("?resource_type=license", [5, 3]),
        ("?resource_type=license&resource_id=7", [5, 3]),
        ("?resource_id=7", [5, 3]),
        ("?outcome=failure", [2]),
        ("?outcome=denied", [4]),
        ("?ip=10.1.2.3", [6, 1]),
        ("?ip=10.1.0.0/16", [6, 2, 1]),
        ("?ip=10.0.0.0/8", [6, 5, 2, 1]),
        ("?ip=10.0.0.0/14", [6, 5, 2, 1]),
        ("?ip=10.2.0.0/15", [5]),
        ("?ip=192.168.5.1/32", [3]),
        ("?ip=2001:db8::/32", [4]),
        ("?ip=2001:db9::/32", []),
    ],
)
def test_each_filter_alone(client, scene, query, expected):
    assert numbered(get(client, query), scene["ids"]) == expected


def test_date_range_in_the_users_zone(client, scene):
    t = scene["t"]
    start = (t + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    end = (t + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    ids = scene["ids"]
    assert shown_ids(get(client, f"?start={start}&end={end}")) == [ids[3], ids[2], ids[1]]
    # A bare date as the end includes the whole day.
    day = get(client, f"?end={t:%Y-%m-%d}")
    same_day = [n for n in [5, 4, 3, 2, 1] if (t + timedelta(hours=n - 1)).date() == t.date()]
    assert numbered(day, ids) == same_day


def test_filters_combined(client, scene):
    t = scene["t"]
    start = (t + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M")
    ids = scene["ids"]
    assert numbered(get(client, f"?actor=alice&start={start}"), ids) == [4, 2]
    query = "?actor=bob&resource_type=license&outcome=success&ip=10.0.0.0/8"
    assert shown_ids(get(client, query)) == [ids[4]]
    assert numbered(get(client, "?action=auth.login&action=auth.login_failed&ip=10.1.0.0/16&actor=alice"),
                    ids) == [2, 1]
    assert shown_ids(get(client, "?actor=alice&outcome=denied&action=auth.login")) == []


def test_no_match_says_what_to_do(client, scene):
    assert "No events match these filters" in get(client, "?actor=nobody-here")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?ip=10.0.0.300", "Enter an IP address"),
        ("?start=yesterday", "Enter a date as YYYY-MM-DD"),
        ("?start=2026-01-02T10:00&end=2026-01-01T10:00", "The end must be after the start"),
        ("?action=DROP TABLE", "Unknown action"),
        ("?outcome=maybe", "Not a valid choice"),
    ],
)
def test_bad_filters_are_explained(client, scene, query, message):
    response = client.get("/audit/" + query)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'class="field-error"' in html


def test_htmx_gets_the_partial_and_url_state(client, scene):
    response = client.get("/audit/?actor=bob&outcome=success", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert "HX-Request" in response.headers["Vary"]
    assert html.lstrip().startswith('<section id="audit-results"')
    assert numbered(html, scene["ids"]) == [6, 5, 3]
    # The export link carries the same filter.
    assert "/audit/export.csv?actor=bob&amp;outcome=success" in html


def test_full_page_form_works_without_js(client, scene):
    html = get(client, "?actor=alice&action=auth.login_failed")
    assert "<html" in html and 'method="get" action="/audit/"' in html
    assert 'hx-push-url="true"' in html and 'hx-target="#audit-results"' in html
    assert 'type="submit">Apply filters' in html
    # The form shows the current filter.
    assert 'value="alice"' in html
    assert '<option value="auth.login_failed" selected>' in html
    assert '<optgroup label="license">' in html
    assert shown_ids(html) == [scene["ids"][1]]


def _walk(client, app, query, size, add_between=None):
    """Follow "Older" links to the end; returns the sequence numbers seen."""
    seen, url = [], "/audit/" + query
    while url:
        html = client.get(url).get_data(as_text=True)
        seen.extend(shown_ids(html))
        if add_between:
            add_between()
        match = re.search(r'href="([^"]+)" rel="next"', html)
        url = match.group(1).replace("&amp;", "&") if match else None
    return seen


def test_keyset_paging_has_no_duplicates_or_gaps_while_events_arrive(
    client, app, make_user, add_events, monkeypatch
):
    monkeypatch.setattr(queries, "PAGE_SIZE", 7)
    admin = make_user(Role.ADMIN)
    login(client, admin)
    # Several events share one timestamp: the id breaks the tie.
    before = add_events(*[{'at': BASE + timedelta(minutes=i // 3), 'action': actions.USER_UPDATED}
                          for i in range(40)])
    counter = iter(range(100))

    def arrive():
        add_events({'at': BASE + timedelta(days=1, seconds=next(counter)), 'action': actions.USER_UPDATED})

    seen = _walk(client, app, "?action=user.updated", 7, add_between=arrive)
    assert len(seen) == len(set(seen)) == 40
    assert seen == list(reversed(before))


def test_newer_link_walks_back(client, app, make_user, add_events, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 5)
    login(client, make_user(Role.ADMIN))
    ids = add_events(*[{'action': actions.LICENSE_RENEWED} for _ in range(12)])
    first = client.get("/audit/?action=license.renewed").get_data(as_text=True)
    assert numbered(first, ids) == [12, 11, 10, 9, 8] and 'rel="prev"' not in first
    older = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(older).get_data(as_text=True)
    assert numbered(second, ids) == [7, 6, 5, 4, 3]
    newer = re.search(r'href="([^"]+)" rel="prev"', second).group(1).replace("&amp;", "&")
    assert "action=license.renewed" in newer
    assert numbered(client.get(newer).get_data(as_text=True), ids) == [12, 11, 10, 9, 8]


def test_paging_uses_no_offset(app, add_events):
    add_events({'action': actions.LOGIN})
    selects = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if context.compiled is not None and isinstance(context.compiled.statement, sa.Select):
            selects.append(context.compiled.statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", capture)
        try:
            first = queries.page(queries.conditions(AuditFilter(actions=[actions.LOGIN])))
            queries.page(queries.conditions(AuditFilter()), before=first.rows[0].id)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", capture)
    # (SQLite prints "OFFSET ?" with every LIMIT; what matters is that none is set.)
    assert len(selects) >= 3 and all(s._offset_clause is None for s in selects)


def test_event_page_shows_every_field(client, scene, app):
    with app.app_context():
        ev = db.session.get(AuditEvent, scene["ids"][4])
    response = client.get(f"/audit/events/{ev.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for text in ("license.suspended", "bob@example.test", "Bob Baker", "10.2.0.1", ev.hash, ev.prev_hash,
                 "/audit/resource/license/7", f"/audit/resource/user/{scene['bob'].id}",
                 "<th scope=\"row\">before</th>"):
        assert text in html, text
    assert client.get("/audit/events/999999").status_code == 404


def test_resource_history_with_before_and_after(client, scene):
    response = client.get("/audit/resource/license/7")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "History of license 7" in html
    assert html.index("license.suspended") < html.index("license.issued")
    assert re.search(r'<th scope="row">status</th><td>active</td><td>suspended</td>', html)
    partial = client.get("/audit/resource/license/7", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True) and "HX-Request" in partial.headers["Vary"]
    assert client.get("/audit/resource/license/99").status_code == 404


def test_user_resource_names_the_account(client, scene):
    html = client.get(f"/audit/resource/user/{scene['alice'].id}").get_data(as_text=True)
    assert "alice@example.test" in html and "auth.login_failed" in html


def test_changes_of_understands_both_shapes():
    assert changes_of({"before": {"a": 1}, "after": {"a": 2, "b": 3}}) == [("a", 1, 2), ("b", None, 3)]
    assert changes_of({"changes": {"role": ["student", "admin"], "name": {"from": "A", "to": "B"}}}) == [
        ("name", "A", "B"), ("role", "student", "admin")]
    assert changes_of({"reason": "x"}) == []


def test_the_event_list_reads_a_fuller_page_with_the_same_statements(app, client, make_user, add_events):
    # The list reads plain rows: 5 events or 50, the same statements (no per-row query).
    user = make_user(Role.STUDENT)
    login(client, make_user(Role.ADMIN))

    def failed(n):
        add_events(*[{"action": actions.LOGIN_FAILED, "outcome": "failure", "actor": user,
                      "ip": f"10.0.0.{i}", "resource": ("user", user.id)} for i in range(n)])

    url = "/audit/?action=auth.login_failed"
    failed(5)
    small = of_request(app, client, url, leave_out=("user_sessions",))
    failed(45)
    large = of_request(app, client, url, leave_out=("user_sessions",))
    assert len(shown_ids(client.get(url).get_data(as_text=True))) == 50
    assert large == small
