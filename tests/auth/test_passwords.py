"""The password policy and Argon2id hashing."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from portal import create_app
from portal.auth import passwords, policy, services
from portal.extensions import db
from portal.models.user import User
from tests.support.http import login


@pytest.mark.parametrize(("length", "ok"), [(9, False), (10, True), (256, True), (257, False)])
def test_length_bounds(length, ok):
    password = ("horse-battery-staple-" * 20)[:length]
    assert len(password) == length
    assert (policy.problems(password) == []) is ok


def test_common_password_is_refused():
    # The list comes from zxcvbn's frequency data (real leaks), not typed by hand.
    assert len(policy.common_passwords()) > 10000
    assert "too common" in policy.problems("password12")[0]
    assert "too common" in policy.problems("Qwertyuiop")[0]  # case does not help


def test_emoji_and_unicode_passwords_are_accepted_and_normalised(app):
    emoji = "🔐🦄 mi contraseña"
    assert policy.problems(emoji) == []
    # Length counts characters, not bytes: nine emoji are still too short.
    assert policy.problems("🦄" * 9) and policy.problems("🦄" * 10) == []
    with app.app_context():
        stored = passwords.hash_password(emoji)
        assert passwords.verify_password(stored, emoji)
        # NFKC: the same password typed as decomposed characters or full-width letters matches.
        composed = "Ａｎｇｓｔｒöｍ passphrase"
        stored = passwords.hash_password(composed)
        assert passwords.verify_password(stored, "Angstro\u0308m passphrase")
        assert not passwords.verify_password(stored, "Angstrom passphrase")


def test_not_the_email_or_name():
    assert "e-mail" in policy.problems("Ada@Example.org", email="ada@example.org")[0]
    assert "name" in policy.problems("ada lovelace", name="Ada Lovelace")[0]
    assert policy.problems("ada lovelace counts", name="Ada Lovelace") == []


def test_default_argon2_parameters_meet_owasp_minimum(tmp_path, monkeypatch):
    for name in ("PORTAL_ARGON2_TIME_COST", "PORTAL_ARGON2_MEMORY_COST", "PORTAL_ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x"})
    with app.app_context():
        stored = passwords.hash_password("a long enough passphrase")
    # OWASP: Argon2id, m=19 MiB, t=2, p=1 at the least.
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_hash_is_upgraded_at_login_when_parameters_change(app, client, make_user):
    user = make_user()
    with app.app_context():
        weak = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(user.password)
        db.session.get(User, user.id).password_hash = weak
        db.session.commit()
    login(client, user)
    with app.app_context():
        upgraded = db.session.get(User, user.id).password_hash
    assert upgraded != weak
    assert upgraded.startswith("$argon2id$v=19$m=1024,t=1,p=1$")  # the configured test parameters
    with app.app_context():
        assert not passwords.needs_rehash(upgraded)
        assert passwords.needs_rehash(weak)


def test_validate_new_password_names_the_field():
    with pytest.raises(services.AuthError) as info:
        services.validate_new_password("short")
    assert info.value.field == "password"


def test_passwords_never_in_audit_or_pages(app, client, make_user, audit_events):
    user = make_user()
    secret = "my wrong secret guess"
    response = client.post("/auth/login", data={"email": user.email, "password": secret})
    assert secret not in response.get_data(as_text=True)
    for event in audit_events():
        assert secret not in str(event.details)
        assert user.password not in str(event.details)
