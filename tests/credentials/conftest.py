"""Fixtures for the credential tests: a license's holder logged in, and the published files."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models import User


@pytest.fixture
def holder_of(app):
    """The holder of a (detached) license, with the factories' password, to log in."""

    def get(license) -> User:
        with app.app_context():
            user = db.session.get(User, license.holder_id)
            db.session.expunge(user)
        from tests.support.factories.users import PASSWORD  # noqa: PLC0415
        user.password = PASSWORD
        return user

    return get


@pytest.fixture
def published(client):
    """The academy's published files as a third party downloads them."""

    def get() -> tuple[dict, dict[str, dict]]:
        did = client.get("/.well-known/did.json").get_json(force=True)
        lists = {}
        for purpose in ("revocation", "suspension"):
            doc = client.get(f"/credentials/status/{purpose}").get_json(force=True)
            lists[doc["id"]] = doc
        return did, lists

    return get
