"""Statistics, security figures, CSV export, /audit/mine and who may see what."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, time, timedelta

import pytest

from portal.audit import actions, export, queries
from portal.db import utcnow
from portal.models.user import Role
from tests.support.http import login

TODAY = utcnow().date()


def day(n_days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(TODAY - timedelta(days=n_days_ago), time(hour), UTC)


# -- statistics ----------------------------------------------------------------


@pytest.fixture
def history(make_user, add_events):
    alice = make_user(Role.STUDENT, email="alice@example.test")
    bob = make_user(Role.STUDENT, email="bob@example.test")
    add_events(
        {"at": day(40), "action": actions.LOGIN, "actor": alice},  # outside 30 days
        {"at": day(5), "action": actions.LOGIN, "actor": alice},
        {"at": day(5, 13), "action": actions.LOGIN, "actor": bob},
        {"at": day(5, 14), "action": actions.LOGIN_FAILED, "actor": bob, "outcome": "failure"},
        {"at": day(2), "action": actions.ACCESS_DENIED, "actor": alice, "outcome": "denied",
         "reason": "role"},
        {"at": day(2, 13), "action": actions.LOGIN, "actor": alice},
    )
    return alice, bob


def test_statistics_against_hand_counts(app, history):
    alice, bob = history
    with app.app_context():
        now = utcnow()
        # Only our events: the accounts' own creation events are today; count from yesterday back.
        period = queries.Period(day(29, 0), datetime.combine(TODAY, time.min, UTC), "x", "custom")
        s = queries.stats(period)
        assert s.total == 5 and s.failures == 1 and s.denials == 1
        assert s.failure_rate == pytest.approx(0.2) and s.denial_rate == pytest.approx(0.2)
        per_day = dict(s.per_day)
        assert len(s.per_day) == 29
        assert per_day[(TODAY - timedelta(days=5)).isoformat()] == 3
        assert per_day[(TODAY - timedelta(days=2)).isoformat()] == 2
        assert sum(per_day.values()) == 5
        assert s.top_actions[0] == (actions.LOGIN, 3)
        assert dict(s.top_actions) == {actions.LOGIN: 3, actions.LOGIN_FAILED: 1, actions.ACCESS_DENIED: 1}
        assert s.top_actors[0] == (alice.id, "alice@example.test", 3)
        assert s.top_actors[1] == (bob.id, "bob@example.test", 2)
        assert queries.period_from({"period": "7"}, now).days[-1] == TODAY


def test_stats_page_with_chart_data_and_tables(client, login_as, history):
    login_as(Role.ADMIN)
    response = client.get("/audit/stats?period=90")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<script type="application/json" id="audit-chart-data">' in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "js/charts.js" in html
    assert "Events per day as a table" in html and 'data-chart="per_day"' in html
    assert '<option value="90" selected>' in html
    assert "<script>" not in html  # nothing inline that executes
    partial = client.get("/audit/stats?period=7", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True) and "HX-Request" in partial.headers["Vary"]


def test_stats_custom_period_and_bad_dates(client, login_as, history):
    login_as(Role.ADMIN)
    d = TODAY - timedelta(days=5)
    html = client.get(f"/audit/stats?from={d}&to={d}").get_data(as_text=True)
    assert f"{d:%b} {d.day}, {d:%Y}" in html and '<p class="stat">3</p>' in html
    bad = client.get("/audit/stats?from=2026-13-01")
    assert bad.status_code == 422 and "Enter a real date" in bad.get_data(as_text=True)
    reversed_ = client.get(f"/audit/stats?from={TODAY}&to={d}")
    assert reversed_.status_code == 422 and "on or before" in reversed_.get_data(as_text=True)


# -- security ------------------------------------------------------------------------


@pytest.fixture
def attacks(make_user, add_events):
    alice = make_user(Role.STUDENT, email="alice@example.test")
    bob = make_user(Role.STUDENT, email="bob@example.test")
    failed = actions.LOGIN_FAILED
    add_events(
        # One address tries four accounts (two of them unknown e-mails).
        {"at": day(3), "action": failed, "actor": alice, "ip": "198.51.100.7", "outcome": "failure"},
        {"at": day(3, 13), "action": failed, "actor": bob, "ip": "198.51.100.7", "outcome": "failure"},
        {"at": day(3, 14), "action": failed, "ip": "198.51.100.7", "outcome": "failure",
         "email": "carol@example.test"},
        {"at": day(3, 15), "action": failed, "ip": "198.51.100.7", "outcome": "failure",
         "email": "dave@example.test"},
        # Alice is tried from three more addresses.
        {"at": day(2), "action": failed, "actor": alice, "ip": "203.0.113.1", "outcome": "failure"},
        {"at": day(2, 13), "action": failed, "actor": alice, "ip": "203.0.113.2", "outcome": "failure"},
        {"at": day(2, 14), "action": failed, "actor": alice, "ip": "203.0.113.3", "outcome": "failure"},
        {"at": day(2, 15), "action": actions.LOCKOUT, "actor": alice, "ip": "203.0.113.3",
         "outcome": "failure"},
        {"at": day(1), "action": actions.ACCESS_DENIED, "actor": bob, "ip": "192.0.2.9",
         "outcome": "denied", "status": 403, "reason": "role", "method": "GET", "path": "/admin/"},
        {"at": day(1, 13), "action": actions.ACCESS_DENIED, "actor": bob, "ip": "192.0.2.9",
         "outcome": "denied", "status": 404, "reason": "not_owner"},
        {"at": day(1, 14), "action": actions.ACCESS_DENIED, "ip": "192.0.2.10",
         "outcome": "denied", "status": 403, "reason": "role"},
        # Too old for the 7-day view.
        {"at": day(20), "action": failed, "actor": bob, "ip": "198.51.100.99", "outcome": "failure"},
    )
    return alice, bob


def test_security_figures_against_hand_counts(app, attacks):
    with app.app_context():
        sec = queries.security(queries.period_from({"period": "7"}, utcnow()), threshold=3)
        assert sec.failed_total == 7
        by_ip = {r.ip: (r.n, r.accounts) for r in sec.failed_by_ip}
        assert by_ip == {"198.51.100.7": (4, 4), "203.0.113.1": (1, 1), "203.0.113.2": (1, 1),
                         "203.0.113.3": (1, 1)}
        by_account = {r.account: (r.n, r.ips) for r in sec.failed_by_account}
        assert by_account == {"alice@example.test": (4, 4), "bob@example.test": (1, 1),
                              "carol@example.test": (1, 1), "dave@example.test": (1, 1)}
        assert [(r.ip, r.accounts) for r in sec.many_accounts] == [("198.51.100.7", 4)]
        assert [(r.account, r.ips) for r in sec.many_ips] == [("alice@example.test", 4)]
        assert [e.actor_label for e in sec.lockouts] == ["alice@example.test"]
        assert sec.denied_total == 3
        assert [(r.reason, r.n) for r in sec.denied_by_reason] == [("role", 2), ("not_owner", 1)]
        assert [e.status for e in sec.denied] == [403, 404, 403]
        wide = queries.security(queries.period_from({"period": "30"}, utcnow()), threshold=5)
        assert wide.failed_total == 8 and wide.many_accounts == [] and wide.many_ips == []


def test_security_page(client, login_as, attacks):
    login_as(Role.ADMIN)
    html = client.get("/audit/security?period=7").get_data(as_text=True)
    assert "198.51.100.7" in html and "carol@example.test" in html
    assert "IPs that tried many accounts" in html and "No account was locked" not in html
    assert "role: 2" in html
    partial = client.get("/audit/security?period=7&threshold=10", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert "<html" not in body and "HX-Request" in partial.headers["Vary"]
    assert "No address tried 10 or more accounts" in body


# -- export --------------------------------------------------------------------


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_export_streams_the_current_filter_and_is_audited(client, login_as, add_events, audit_events):
    admin = login_as(Role.ADMIN)
    ids = add_events(*[{"action": actions.LICENSE_RENEWED, "resource": ("license", i)} for i in range(5)])
    add_events({"action": actions.LOGIN})
    response = client.get("/audit/export.csv?action=license.renewed")
    assert response.status_code == 200 and response.is_streamed
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response)
    assert rows[0] == export.COLUMNS
    assert [int(r[1]) for r in rows[1:]] == list(reversed(ids))
    assert {r[5] for r in rows[1:]} == {actions.LICENSE_RENEWED}
    [event] = audit_events(actions.AUDIT_EXPORTED)
    assert event.actor_id == admin.id and event.details["filter"] == {"actions": ["license.renewed"]}


def test_export_walks_batches_in_order(app, add_events):
    ids = add_events(*[{"action": actions.CLASS_JOINED} for _ in range(23)])
    with app.app_context():
        where = queries.conditions(queries.AuditFilter(actions=[actions.CLASS_JOINED]))
        chunks = list(export.rows(where, batch=5))
    assert len(chunks) == 1 + 5  # header, then 5 batches (5+5+5+5+3)
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert [int(r[1]) for r in rows[1:]] == list(reversed(ids))


def test_export_neutralises_formulas(client, login_as, add_events):
    login_as(Role.ADMIN)
    add_events({"action": actions.USER_UPDATED, "resource": ("user", "=1+1"), "actor_label": "@evil",
                "user_agent": "-cmd|' /C calc'!A0", "path": "+SUM(A1)", "note": "=HYPERLINK(\"x\")"},
               {"action": actions.USER_UPDATED, "resource": ("user", "\tTAB"), "path": "\rCR"})
    rows = _csv(client.get("/audit/export.csv?action=user.updated"))
    header = rows[0]
    second, first = rows[1], rows[2]
    col = header.index
    assert first[col("resource_id")] == "'=1+1"
    assert first[col("actor")] == "'@evil"
    assert first[col("user_agent")] == "'-cmd|' /C calc'!A0"
    assert first[col("path")] == "'+SUM(A1)"
    assert second[col("resource_id")] == "'\tTAB" and second[col("path")] == "'\rCR"
    assert export.neutralise("plain") == "plain" and export.neutralise(5) == 5


def test_export_with_a_bad_filter_is_refused(client, login_as):
    login_as(Role.ADMIN)
    assert client.get("/audit/export.csv?ip=not-an-ip").status_code == 422


# -- my activity ---------------------------------------------------------------


def test_mine_shows_only_my_events_with_paging(client, make_user, add_events, monkeypatch):
    monkeypatch.setattr(queries, "PAGE_SIZE", 4)
    me = make_user(Role.STUDENT, email="me@example.test")
    other = make_user(Role.STUDENT, email="other@example.test")
    add_events(*[{"action": actions.LICENSE_CERTIFICATE_DOWNLOADED, "actor": me, "ip": "192.0.2.1"}
                 for _ in range(5)])
    add_events({"action": actions.LICENSE_REVOKED, "actor": other, "ip": "192.0.2.99"})
    login(client, me)
    html = client.get("/audit/mine").get_data(as_text=True)
    assert "192.0.2.99" not in html and "license.revoked" not in html
    assert html.count("<tr>") == 1 + 4  # header + a full page
    seen = []
    url = "/audit/mine"
    while url:
        page = client.get(url).get_data(as_text=True)
        assert "other@example.test" not in page and "192.0.2.99" not in page
        seen.append(page.count("<tr>") - 1)
        # The pager's "Older" link (the footer's language links repeat this page's URL).
        nxt = re.search(r'<a href="(/audit/mine\?before=[^"]*)" rel="next"', page)
        url = nxt.group(1).replace("&amp;", "&") if nxt else None
    assert seen[0] == 4 and sum(seen) >= 7  # account created, 5 downloads, login; nobody else's
    partial = client.get("/audit/mine", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True) and "HX-Request" in partial.headers["Vary"]


def test_mine_ignores_filters_in_the_url(client, make_user, add_events):
    me = make_user(Role.INSTRUCTOR)
    other = make_user(Role.STUDENT, email="someone@example.test")
    add_events({"action": actions.LICENSE_REVOKED, "actor": other})
    login(client, me)
    html = client.get(f"/audit/mine?actor=someone&actor_id={other.id}").get_data(as_text=True)
    assert "license.revoked" not in html


# -- access --------------------------------------------------------------------

ADMIN_ONLY = ["/audit/", "/audit/stats", "/audit/security", "/audit/export.csv", "/audit/integrity",
              "/audit/events/1", "/audit/resource/user/1", "/audit/integrity/jobs/1"]


@pytest.mark.parametrize("role", [Role.STUDENT, Role.INSTRUCTOR])
@pytest.mark.parametrize("url", ADMIN_ONLY)
def test_admin_only_pages_refuse_others(client, login_as, role, url, app):
    login_as(role)
    response = client.get(url)
    assert response.status_code == 403
    assert client.post("/audit/integrity/check").status_code == 403
    assert client.get("/audit/mine").status_code == 200


@pytest.mark.parametrize("url", [*ADMIN_ONLY, "/audit/mine"])
def test_anonymous_is_sent_to_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_no_route_changes_or_deletes_events(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("audit."):
            allowed = {"POST"} if rule.endpoint == "audit.integrity_check" else set()
            assert rule.methods - {"GET", "HEAD", "OPTIONS"} <= allowed, rule
