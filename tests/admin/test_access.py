"""Only admins get in: one test walks every admin endpoint from the URL map."""

from __future__ import annotations

import pytest
from flask import url_for

from portal import create_app
from portal.models.user import Role
from tests.support.http import login


def _admin_rules():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    rules = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            method = "GET" if "GET" in rule.methods else "POST"
            rules.append((rule.endpoint, method, sorted(rule.arguments)))
    return sorted(rules)


ADMIN_RULES = _admin_rules()


def _url(app, endpoint, arguments):
    with app.test_request_context():
        return url_for(endpoint, **dict.fromkeys(arguments, 1))


def test_every_admin_route_is_listed():
    assert len(ADMIN_RULES) >= 30
    assert {
        "admin.users",
        "admin.user_detail",
        "admin.user_new",
        "admin.licenses",
        "admin.bulk",
        "admin.job",
        "admin.specializations",
    } <= {e for e, _, _ in ADMIN_RULES}


@pytest.mark.parametrize(
    ("endpoint", "method", "arguments"), ADMIN_RULES, ids=[rule[0] for rule in ADMIN_RULES]
)
def test_only_admins_get_in(app, make_user, endpoint, method, arguments):
    url = _url(app, endpoint, arguments)

    anonymous = app.test_client().open(url, method=method)
    assert anonymous.status_code == 302
    assert "/auth/login" in anonymous.headers["Location"]

    for role in (Role.STUDENT, Role.INSTRUCTOR):
        client = app.test_client()
        login(client, make_user(role))
        refused = client.open(url, method=method)
        assert refused.status_code == 403, (role, url, refused.status_code)
