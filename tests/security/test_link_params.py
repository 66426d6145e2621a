"""A list page builds its links (pager, export, clear) from its own filter names only.

``url_for`` reads ``_anchor``, ``_scheme``, ``_external`` and ``_method`` as options, not
as query arguments; a list that passed the query string on to it answered 500 for
``?_anchor=x`` or ``?_scheme=https`` and, with ``_external=1``, wrote links to whatever host
the request named.
"""
from __future__ import annotations

import itertools
import re
from html import unescape

import pytest

from portal.models.user import Role
from tests.support.audit import append_events
from tests.support.http import session_cookie

FOREIGN_HOST = "attacker.example"
ODD_PARAMS = [
    {"_anchor": "x"},
    {"_scheme": "https"},
    {"_external": "1"},
    {"_method": "POST"},
    {"_external": "1", "_scheme": "https", "_anchor": "top"},
    {"endpoint": "public.landing"},  # url_for's own first parameter
    {"values": "1"},
]


@pytest.fixture
def long_lists(app, logged_admin, make_user, make_specialization, make_class, fill_class):
    """More licenses and audit events than one page of each list holds."""
    spec = make_specialization(max_level=3)
    fill_class(make_class(make_user(Role.INSTRUCTOR), spec), 30)
    append_events(app, 60)
    return spec


@pytest.fixture
def foreign_host(client, logged_admin):
    """The admin's session, also sent when a request names another host."""
    client.set_cookie(client.application.config["SESSION_COOKIE_NAME"], session_cookie(client),
                      domain=FOREIGN_HOST)
    return FOREIGN_HOST


# Each list page with a filter it knows, so the links keep something.
PAGES = {
    "admin licenses": ("/admin/licenses", {"status": "active"}, "status=active"),
    "audit events": ("/audit/", {"action": "user.updated"}, "action=user.updated"),
}


def links(html: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'(?:href|hx-get)="([^"]*)"', html)]


@pytest.mark.parametrize("page", PAGES, ids=str)
def test_unknown_query_parameters_never_reach_url_for(client, long_lists, foreign_host, page):
    path, known, kept = PAGES[page]

    for odd, headers in itertools.product(ODD_PARAMS, ({}, {"HX-Request": "true"})):
        response = client.get(path, query_string={**known, **odd},
                              headers={"Host": foreign_host, **headers})

        assert response.status_code == 200, odd
        html = response.get_data(as_text=True)
        assert foreign_host not in html, odd
        pager = [h for h in links(html) if "after=" in h or "before=" in h]
        assert pager, "the list has a next page"
        for href in pager:
            assert href.startswith("/") and not href.startswith("//"), (odd, href)
            assert kept in href and "#" not in href, (odd, href)
            assert not any(f"{name}=" in href for name in odd), (odd, href)


def test_the_audit_export_link_keeps_only_the_filter(client, long_lists, foreign_host):
    response = client.get("/audit/", query_string={"action": "user.updated", "_external": "1",
                                                   "_anchor": "x", "before": "5"},
                          headers={"Host": foreign_host})

    assert response.status_code == 200
    [export] = [h for h in links(response.get_data(as_text=True)) if "export.csv" in h]
    assert export == "/audit/export.csv?action=user.updated"


@pytest.mark.parametrize("path", ["/audit/stats", "/audit/security", "/admin/users"])
def test_other_admin_lists_ignore_them_too(client, foreign_host, path):
    response = client.get(path, query_string={"_anchor": "x", "_scheme": "https", "_external": "1",
                                              "_method": "POST", "endpoint": "x"},
                          headers={"Host": foreign_host})

    assert response.status_code == 200
    assert foreign_host not in response.get_data(as_text=True)

