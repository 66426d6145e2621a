"""Demo audit history over the past four weeks, so statistics and security pages look alive.

Everyday logins and downloads, a burst of failed logins from one address that
tries several accounts (and locks one from that address, again an hour ago with a
longer backoff), an account tried from many addresses, a few refused requests and an
admin's exports. Each event is put on the demo's timeline at its moment, so it is sealed
onto the chain in time order among the events the services record, and ``audit verify``
stays green.
"""
from __future__ import annotations

import random
from datetime import timedelta

from portal.audit import actions
from portal.extensions import db
from portal.models.audit import Outcome
from portal.models.user import LoginThrottle
from portal.seed.audit_events import append

BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
]
HOME_IPS = {
    "admin": "192.0.2.10", "coach.rivera": "192.0.2.21", "coach.okafor": "192.0.2.22",
    "maya": "198.51.100.31", "liam": "198.51.100.32", "sofia": "198.51.100.33", "emma": "198.51.100.35",
    "eszter": "198.51.100.36", "mateo": "198.51.100.37",
}
ATTACKER = "203.0.113.66"


def seed(ctx) -> None:
    rng = random.Random(2026)
    users = ctx.users
    now = ctx.timeline.end.replace(microsecond=0)
    start = now - timedelta(days=28)
    planned: list[tuple] = []  # (at, kwargs)

    def plan(at, action, who=None, **kw):
        kw.setdefault("ip", HOME_IPS.get(who, "192.0.2.99"))
        kw.setdefault("user_agent", BROWSERS[sum(map(ord, who or "")) % len(BROWSERS)])
        planned.append((at, action, who, kw))

    def user_id(who):  # the accounts exist by the time the events happen
        return lambda: users[who].id

    # Everyday use: logins, certificate downloads, logouts.
    for day in range(28):
        base = start + timedelta(days=day)
        for who in ("admin", "coach.rivera", "coach.okafor", "maya", "liam", "sofia", "emma"):
            if rng.random() < (0.35 if day % 7 in (5, 6) else 0.8):
                at = base + timedelta(hours=rng.randint(7, 20), minutes=rng.randint(0, 59))
                plan(at, actions.LOGIN, who, resource=user_id(who),
                     method="POST", path="/auth/login", status=303)
                if who in ("maya", "emma", "liam") and rng.random() < 0.3:
                    plan(at + timedelta(minutes=3), actions.LICENSE_CERTIFICATE_DOWNLOADED, who,
                         method="GET", path="/licenses/", status=200)
                plan(at + timedelta(minutes=rng.randint(10, 90)), actions.LOGOUT, who,
                     resource=user_id(who), method="POST", path="/auth/logout", status=303)
            if rng.random() < 0.06:  # a mistyped password now and then
                at = base + timedelta(hours=rng.randint(7, 20))
                plan(at, actions.LOGIN_FAILED, who, resource=user_id(who),
                     outcome=Outcome.FAILURE, reason="wrong_password",
                     method="POST", path="/auth/login", status=200)

    # Eszter and Mateo log in a few evenings a week (their own dice: the others' days stay).
    theirs = random.Random(16)
    for day in range(28):
        base = start + timedelta(days=day)
        for who in ("eszter", "mateo"):
            if theirs.random() < 0.5:
                at = base + timedelta(hours=theirs.randint(7, 20), minutes=theirs.randint(0, 59))
                plan(at, actions.LOGIN, who, resource=user_id(who),
                     method="POST", path="/auth/login", status=303)
                plan(at + timedelta(minutes=theirs.randint(10, 90)), actions.LOGOUT, who,
                     resource=user_id(who), method="POST", path="/auth/logout", status=303)

    # Ten days ago: one address sprays passwords at several accounts and locks Liam out.
    burst = start + timedelta(days=18, hours=3, minutes=12)
    targets = ["maya", "liam", "emma", "coach.rivera"] + [None] * 3
    for i in range(26):
        who = targets[i % len(targets)]
        kw = {"email": f"user{i}@example.net"} if who is None else {"resource": user_id(who)}
        plan(burst + timedelta(seconds=20 * i), actions.LOGIN_FAILED, who, ip=ATTACKER,
             user_agent="python-requests/2.32", outcome=Outcome.FAILURE,
             reason="unknown_email" if who is None else "wrong_password",
             method="POST", path="/auth/login", status=200, **kw)
    plan(burst + timedelta(minutes=9), actions.LOCKOUT, "liam", ip=ATTACKER,
         user_agent="python-requests/2.32", resource=user_id("liam"),
         outcome=Outcome.FAILURE, source=f"ip:{ATTACKER}", until=burst + timedelta(minutes=24),
         minutes=15, lock_count=1, scope="source")

    # An hour ago the address came back for Liam: its fifth lock in a row lasts four hours,
    # from that address only; Liam logs in from home as usual (see his page in Admin → Users).
    back = now - timedelta(hours=1)
    for i in range(10):
        plan(back + timedelta(seconds=15 * i), actions.LOGIN_FAILED, "liam", ip=ATTACKER,
             user_agent="python-requests/2.32", resource=user_id("liam"),
             outcome=Outcome.FAILURE, reason="wrong_password", method="POST", path="/auth/login", status=200)
    relocked = back + timedelta(seconds=140)
    plan(relocked, actions.LOCKOUT, "liam", ip=ATTACKER, user_agent="python-requests/2.32",
         resource=user_id("liam"), outcome=Outcome.FAILURE, source=f"ip:{ATTACKER}",
         until=relocked + timedelta(minutes=240), minutes=240, lock_count=5, failures=10, scope="source")

    def throttles():
        liam = users["liam"].id
        db.session.add_all([
            LoginThrottle(user_id=liam, source=f"ip:{ATTACKER}", failures=0,
                          locked_until=relocked + timedelta(minutes=240), lock_count=5,
                          last_failure_at=relocked, updated_at=relocked),
            LoginThrottle(user_id=liam, source=f"ip:{HOME_IPS['liam']}", failures=0,
                          lock_count=0, last_success_at=now - timedelta(hours=3),
                          updated_at=now - timedelta(hours=3)),
            LoginThrottle(user_id=liam, source="*", failures=10, lock_count=0,
                          last_failure_at=relocked, updated_at=relocked),
        ])

    ctx.timeline.at(relocked, throttles)

    # Five days ago: Emma's account is tried from several addresses.
    for i, ip in enumerate(["203.0.113.90", "203.0.113.91", "198.18.0.4", "198.18.7.12"]):
        plan(now - timedelta(days=5, hours=2) + timedelta(minutes=7 * i), actions.LOGIN_FAILED, "emma",
             ip=ip, resource=user_id("emma"), outcome=Outcome.FAILURE,
             reason="wrong_password", method="POST", path="/auth/login", status=200)

    # Refused requests: a student trying admin pages, another student's license, a stale form.
    for days, who, path, status, reason in [
        (12, "liam", "/admin/", 403, "role"), (12, "liam", "/admin/users", 403, "role"),
        (9, "sofia", "/licenses/1", 404, "not_owner"), (6, "emma", "/audit/", 403, "role"),
        (3, "maya", "/licenses/requests/1/approve", 403, "role"), (2, None, "/auth/login", 400, "csrf"),
    ]:
        plan(now - timedelta(days=days, hours=rng.randint(1, 8)), actions.ACCESS_DENIED, who,
             outcome=Outcome.DENIED, status=status, reason=reason,
             method="POST" if status == 400 or path.endswith("approve") else "GET", path=path)

    # The admin exports failed logins after the burst, and checks the trail.
    plan(burst + timedelta(hours=6), actions.AUDIT_EXPORTED, "admin", method="GET",
         path="/audit/export.csv", status=200, format="csv",
         filter={"actions": [actions.LOGIN_FAILED], "ip": ATTACKER})
    plan(now - timedelta(days=1, hours=4), actions.AUDIT_EXPORTED, "admin", method="GET",
         path="/audit/export.csv", status=200, format="csv", filter={"outcome": "denied"})

    for at, action, who, kw in planned:
        ctx.timeline.at(at, lambda at=at, action=action, who=who, kw=kw: _append(users, at, action, who, kw))


def _append(users, at, action, who, kw) -> None:
    kw = dict(kw)
    if callable(kw.get("resource")):
        kw["resource"] = ("user", kw["resource"]())
    append(db.session, at=at, action=action, actor=users.get(who) if who else None, **kw)
