"""Join codes against guessing: their length and shape, one answer for unknown and replaced
codes, the codes handed out before, and the limits and audit of refused codes."""
from __future__ import annotations

import math
import re

import pytest
import sqlalchemy as sa

from portal.classes import services
from portal.extensions import db
from portal.models.klass import ClassMembership, Klass
from portal.models.user import User
from tests.support.http import login

LIMITS = {"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://",
          "RATELIMIT_JOIN_PER_USER": "5 per hour", "RATELIMIT_JOIN_PER_IP": "8 per hour"}


@pytest.fixture
def spec(make_specialization):
    return make_specialization("PLY", "Player", max_level=3)


@pytest.fixture
def teacher(make_user):
    return make_user("instructor")


def wrong_codes(n: int) -> list[str]:
    """Well-formed codes no class has (the alphabet's first letters, counted up)."""
    alphabet = services.CODE_ALPHABET
    return [f"PLY-AAAA-AAAA-{alphabet[i // 25 % 25]}{alphabet[i % 25]}AA" for i in range(n)]


def test_new_codes_are_long_grouped_and_unambiguous(app, spec, teacher, make_class):
    codes = {make_class(teacher, spec).join_code for _ in range(20)}
    assert len(codes) == 20
    for code in codes:
        assert re.fullmatch(r"PLY(-[ACDEFGHJKMNPQRTUVWXY34679]{4}){3}", code)
        assert services.normalise_join_code(code.lower().replace("-", " ")) == code
    # Twelve symbols of 25: over 50 bits (the six of before were 28).
    bits = sum(services.CODE_GROUPS) * math.log2(len(services.CODE_ALPHABET))
    assert bits > 55
    assert len(set(services.CODE_ALPHABET) & set("0O1IL2Z5S8B")) == 0


def test_codes_handed_out_before_still_work(app, client, spec, teacher, make_class, make_user):
    klass = make_class(teacher, spec, "Old intake")
    with app.app_context():
        db.session.get(Klass, klass.id).join_code = "PLY-4KD-9QX"
        db.session.commit()
    login(client, make_user("student"))
    response = client.post("/dashboard/join", data={"join_code": " ply 4kd9qx "})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ClassMembership.id))) == 1
        # Until it is renewed: then the class has a code of today's length.
        teacher_user = db.session.get(User, teacher.id)
        new = services.rotate_code(db.session.get(Klass, klass.id), actor=teacher_user)
        db.session.commit()
    assert re.fullmatch(r"PLY(-\w{4}){3}", new)


def test_unknown_and_replaced_codes_get_one_answer(app, client, spec, teacher, make_class, make_user):
    klass = make_class(teacher, spec)
    old = klass.join_code
    login(client, teacher)
    client.post(f"/dashboard/classes/{klass.id}/rotate-code")
    student_client = app.test_client()
    login(student_client, make_user("student"))
    replaced = student_client.post("/dashboard/join", data={"join_code": old})
    unknown = student_client.post("/dashboard/join", data={"join_code": wrong_codes(1)[0]})
    assert replaced.status_code == unknown.status_code == 422

    def message(response):
        return re.search(r'id="join_code-error"[^>]*>(.*?)</small>', response.get_data(as_text=True), re.S)[1]

    assert message(replaced) == message(unknown)
    assert "does not work" in message(unknown)


def test_guessing_meets_429_and_leaves_few_audit_rows(app_factory, fresh_limiter, spec, teacher,
                                                      make_class, make_user, audit_events):
    app = app_factory(**LIMITS)
    klass = make_class(teacher, spec)
    guesser = app.test_client()
    login(guesser, make_user("student"))
    codes = [guesser.post("/dashboard/join", data={"join_code": code}).status_code
             for code in wrong_codes(40)]
    assert codes[:5] == [422] * 5 and set(codes[5:]) == {429}
    # Even the right code is refused while the limit lasts: a guess cannot be confirmed.
    assert guesser.post("/dashboard/join", data={"join_code": klass.join_code}).status_code == 429
    # Five refused codes and 36 refusals: one row each, with its count (1, 10, 100 ...).
    failed = audit_events("class.join_failed")
    assert [e.details["count"] for e in failed] == [1]
    assert failed[0].outcome == "failure" and failed[0].details["reason"] == "join_code"
    limited = [e for e in audit_events("access.denied") if e.details["reason"] == "rate_limited"]
    assert [e.details["count"] for e in limited] == [1, 10]
    # Joining is not what is limited: another student of the same class joins at once.
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.3"
    login(other, make_user("student"))
    assert other.post("/dashboard/join", data={"join_code": klass.join_code}).status_code == 303


def test_one_ip_with_several_accounts_is_limited_too(app_factory, fresh_limiter, spec, teacher,
                                                     make_class, make_user):
    app = app_factory(**LIMITS)
    make_class(teacher, spec)
    codes = iter(wrong_codes(30))
    first, second = app.test_client(), app.test_client()
    login(first, make_user("student"))
    login(second, make_user("student"))
    assert [first.post("/dashboard/join", data={"join_code": next(codes)}).status_code
            for _ in range(5)] == [422] * 5
    # The second account's own budget is untouched, but the IP's (8) runs out after 3.
    assert [second.post("/dashboard/join", data={"join_code": next(codes)}).status_code
            for _ in range(4)] == [422, 422, 422, 429]


def test_many_failures_stay_logarithmic(app_factory, fresh_limiter, spec, teacher, make_class, make_user,
                                        audit_events):
    """With a generous limit, 120 refused codes write 3 rows (the 1st, 10th and 100th)."""
    app = app_factory(**{**LIMITS, "RATELIMIT_JOIN_PER_USER": "1000 per hour",
                         "RATELIMIT_JOIN_PER_IP": "1000 per hour"})
    make_class(teacher, spec)
    client = app.test_client()
    login(client, make_user("student"))
    for code in wrong_codes(120):
        assert client.post("/dashboard/join", data={"join_code": code}).status_code == 422
    assert [e.details["count"] for e in audit_events("class.join_failed")] == [1, 10, 100]
