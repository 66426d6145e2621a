"""The access matrix: every rule of the URL map, for every kind of visitor.

Each rule's expected outcome for each visitor is written down below. A new route
without an entry fails ``test_every_route_has_an_entry`` (and its own case). Another
user's objects answer 404, never 403, and the 404 page shows none of their data.
``REVIEW_MATRIX`` at the end: which reviewer sees and decides which kind of request.

Outcomes: ``ok`` (served, or a form answer such as 303/409/422), ``login`` (redirect
to the login page), ``403`` (the role may not), ``404`` (not yours, or not there).
The world (tests/support/world.py): ``student`` holds the license, the pending
request and the second session in the URLs and is in ``instructor``'s class;
``other_student`` and ``other_instructor`` have their own license and class.
``suspended`` was suspended and ``revoked`` had their sessions ended after logging in.
"""
from __future__ import annotations

import tempfile
from datetime import date

import pytest

from portal import create_app
from portal.admin import services as admin_services
from portal.classes import services as class_services
from portal.extensions import db
from portal.licenses import services
from portal.models import Klass, RequestStatus, Specialization, UpgradeRequest, User
from portal.models.user import Role
from tests.support import world as W
from tests.support.http import login

# Columns: anonymous, student, other_student, other_instructor, instructor, admin, suspended, revoked
#          (anon  stud  other oinst inst  admin susp  revkd)
MATRIX = {
    "/":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/.well-known/portal-keys.json":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/.well-known/did.json":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/credentials/status/<purpose>":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/account":
        "login ok    ok    ok    ok    ok    login login",
    "/account/profile":
        "login ok    ok    ok    ok    ok    login login",
    "/account/email":
        "login ok    ok    ok    ok    ok    login login",
    "/account/two-factor":
        "login ok    ok    ok    ok    ok    login login",
    "/account/two-factor/totp":
        "login ok    ok    ok    ok    ok    login login",
    "/account/two-factor/totp/confirm":
        "login ok    ok    ok    ok    ok    login login",
    "/account/two-factor/recovery-codes":
        "login ok    ok    ok    ok    ok    login login",
    "/account/two-factor/recovery-codes/download":
        "login ok    ok    ok    ok    ok    login login",
    "/account/two-factor/disable":
        "login ok    ok    ok    ok    ok    login login",
    "/account/privacy":
        "login ok    ok    ok    ok    ok    login login",
    "/account/export":
        "login ok    ok    ok    ok    ok    login login",
    "/account/exports/<int:job_id>":
        "login 404   404   404   404   404   login login",
    "/account/exports/<int:job_id>/download":
        "login 404   404   404   404   404   login login",
    "/account/delete":
        "login ok    ok    ok    ok    ok    login login",
    "/account/notifications":
        "login ok    ok    ok    ok    ok    login login",
    "/account/passkeys":
        "login ok    ok    ok    ok    ok    login login",
    "/account/passkeys/<int:passkey_id>/remove":
        "login ok    404   404   404   404   login login",
    "/account/passkeys/<int:passkey_id>/rename":
        "login ok    404   404   404   404   login login",
    "/account/confirm-email/<token>":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/account/cancel-email/<token>":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/achievements":
        "login ok    ok    403   403   403   login login",
    "/achievements/visibility":
        "login ok    ok    403   403   403   login login",
    "/admin/":
        "login 403   403   403   403   ok    login login",
    "/admin/achievements":
        "login 403   403   403   403   ok    login login",
    "/admin/achievements/<int:achievement_id>":
        "login 403   403   403   403   ok    login login",
    "/admin/achievements/<int:achievement_id>/archive":
        "login 403   403   403   403   ok    login login",
    "/admin/achievements/<int:achievement_id>/delete":
        "login 403   403   403   403   ok    login login",
    "/admin/achievements/<int:achievement_id>/restore":
        "login 403   403   403   403   ok    login login",
    "/admin/achievements/new":
        "login 403   403   403   403   ok    login login",
    "/admin/classes/<int:class_id>/achievement-summary":
        "login 403   403   403   403   ok    login login",
    "/admin/jobs":
        "login 403   403   403   403   ok    login login",
    "/admin/jobs/<int:job_id>":
        "login 403   403   403   403   ok    login login",
    "/admin/jobs/<int:job_id>/resume":
        "login 403   403   403   403   ok    login login",
    "/admin/levels/<int:level_id>":
        "login 403   403   403   403   ok    login login",
    "/admin/levels/<int:level_id>/remove":
        "login 403   403   403   403   ok    login login",
    "/admin/levels/<int:level_id>/requirements":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses/<int:license_id>":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses/<int:license_id>/reinstate":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses/<int:license_id>/renew":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses/<int:license_id>/revoke":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses/<int:license_id>/set-level":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses/<int:license_id>/suspend":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses/bulk":
        "login 403   403   403   403   ok    login login",
    "/admin/licenses/issue":
        "login 403   403   403   403   ok    login login",
    "/admin/requirements/<int:req_id>":
        "login 403   403   403   403   ok    login login",
    "/admin/requirements/<int:req_id>/move":
        "login 403   403   403   403   ok    login login",
    "/admin/requirements/<int:req_id>/remove":
        "login 403   403   403   403   ok    login login",
    "/admin/specializations":
        "login 403   403   403   403   ok    login login",
    "/admin/specializations/<int:spec_id>":
        "login 403   403   403   403   ok    login login",
    "/admin/specializations/<int:spec_id>/archive":
        "login 403   403   403   403   ok    login login",
    "/admin/specializations/<int:spec_id>/delete":
        "login 403   403   403   403   ok    login login",
    "/admin/specializations/<int:spec_id>/levels":
        "login 403   403   403   403   ok    login login",
    "/admin/specializations/<int:spec_id>/restore":
        "login 403   403   403   403   ok    login login",
    "/admin/specializations/new":
        "login 403   403   403   403   ok    login login",
    "/admin/users":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/archive":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/erase":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/export":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/consent/withdraw":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/details":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/restore":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/consent":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/reset-two-factor":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/role":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/send-link":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/sessions/end":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/specializations":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/status":
        "login 403   403   403   403   ok    login login",
    "/admin/users/<int:user_id>/unlock":
        "login 403   403   403   403   ok    login login",
    "/admin/users/new":
        "login 403   403   403   403   ok    login login",
    "/audit/":
        "login 403   403   403   403   ok    login login",
    "/audit/events/<int:event_id>":
        "login 403   403   403   403   ok    login login",
    "/audit/export.csv":
        "login 403   403   403   403   ok    login login",
    "/audit/integrity":
        "login 403   403   403   403   ok    login login",
    "/audit/integrity/check":
        "login 403   403   403   403   ok    login login",
    "/audit/integrity/jobs/<int:job_id>":
        "login 403   403   403   403   404   login login",
    "/audit/mine":
        "login ok    ok    ok    ok    ok    login login",
    "/audit/resource/<resource_type>/<resource_id>":
        "login 403   403   403   403   ok    login login",
    "/audit/security":
        "login 403   403   403   403   ok    login login",
    "/audit/stats":
        "login 403   403   403   403   ok    login login",
    "/auth/change-password":
        "login ok    ok    ok    ok    ok    login login",
    "/auth/forgot-password":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/login":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/logout":
        "login ok    ok    ok    ok    ok    login login",
    "/auth/passkeys/login/options":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/passkeys/login/verify":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/passkeys/second-factor/options":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/passkeys/second-factor/verify":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/passkeys/register/options":
        "login ok    ok    ok    ok    ok    login login",
    "/auth/passkeys/register/verify":
        "login ok    ok    ok    ok    ok    login login",
    "/auth/register":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/reset-password":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/reset-password/<token>":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/sessions":
        "login ok    ok    ok    ok    ok    login login",
    "/auth/sessions/<int:session_id>/revoke":
        "login ok    404   404   404   404   login login",
    "/auth/sessions/revoke-others":
        "login ok    ok    ok    ok    ok    login login",
    "/auth/two-factor":
        "login ok    ok    ok    ok    ok    login login",
    "/auth/step-up":
        "login ok    ok    ok    ok    ok    login login",
    "/auth/trusted-devices/<int:device_id>/revoke":
        "login ok    404   404   404   404   login login",
    "/auth/verify-email":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/auth/verify-email/<token>":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/dashboard":
        "login ok    ok    ok    ok    ok    login login",
    "/dashboard/classes":
        "login ok    ok    ok    ok    ok    login login",
    "/dashboard/classes/<int:class_id>":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/archive":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/edit":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/report":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/requirements/bulk":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/roster.csv":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/students/<int:user_id>":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/unarchive":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/invitations/<int:invitation_id>/resend":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/invitations/<int:invitation_id>/withdraw":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/invite":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/leave":
        "login ok    404   403   403   403   login login",
    "/dashboard/classes/<int:class_id>/rotate-code":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/students/<int:user_id>/consent":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/students/<int:user_id>/consent/withdraw":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/students/<int:user_id>/remove":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/classes/<int:class_id>/students/<int:user_id>/requirements":
        "login 403   403   404   ok    ok    login login",
    "/dashboard/join/<token>":
        "404   404   404   404   404   404   404   404",
    "/dashboard/join":
        "login ok    ok    403   403   403   login login",
    "/healthz":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/keys":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/licenses/":
        "login ok    ok    ok    ok    ok    login login",
    "/licenses/<int:license_id>":
        "login ok    404   404   ok    ok    login login",
    "/licenses/<int:license_id>/certificate.pdf":
        "login ok    404   404   ok    ok    login login",
    "/licenses/<int:license_id>/qr.svg":
        "login ok    404   404   ok    ok    login login",
    "/licenses/<int:license_id>/credential.json":
        "login ok    404   404   ok    ok    login login",
    "/licenses/<int:license_id>/credential.jwt":
        "login ok    404   404   ok    ok    login login",
    "/licenses/<int:license_id>/upgrade":
        "login ok    404   404   404   404   login login",
    "/licenses/requests/":
        "login 403   403   ok    ok    ok    login login",
    "/licenses/requests/<int:request_id>/approve":
        "login 403   403   404   ok    ok    login login",
    "/licenses/requests/<int:request_id>/reject":
        "login 403   403   404   ok    ok    login login",
    "/licenses/requests/<int:request_id>/withdraw":
        "login ok    404   403   403   403   login login",
    "/licenses/select-specialization":
        "login ok    ok    403   403   403   login login",
    "/static/<path:filename>":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/transparency/checkpoint":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/transparency/leaves":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/transparency/proof/consistency":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/transparency/proof/inclusion":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/verify":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/notifications":
        "login ok    ok    ok    ok    ok    login login",
    "/notifications/count":
        "login ok    ok    ok    ok    ok    login login",
    "/notifications/read-all":
        "login ok    ok    ok    ok    ok    login login",
    "/notifications/<int:notification_id>/read":
        "login ok    404   404   404   404   login login",
    "/notifications/unsubscribe/<token>":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/verify/<code>":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/verify/<code>.json":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/verify/<code>/credential.json":
        "ok    ok    ok    ok    ok    ok    ok    ok",
    "/verify/credential":
        "ok    ok    ok    ok    ok    ok    ok    ok",
}
MATRIX = {rule: tuple(row.split()) for rule, row in MATRIX.items()}


def _rules():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "matrix",
                      "INSTANCE_PATH": tempfile.mkdtemp(prefix="portal-matrix-")})
    return sorted(app.url_map.iter_rules(), key=lambda r: r.rule)


RULES = _rules()
GROUPS = sorted({r.endpoint.split(".")[0] for r in RULES})
# Per blueprint: every GET and every refused POST (refusals change nothing) in one world;
# then the POSTs the visitors may make, in a second world, the destructive ones last.
CASES = [f"read {group}" for group in GROUPS] + [
    f"act {group}" for group in GROUPS
    if any(W.method_for_rule(r) == "POST" and r.endpoint.split(".")[0] == group for r in RULES)
]
# These end something another visitor's check needs: each allowed visitor gets a world of
# their own. Ending one's own session (logout, revoking sessions) only runs last.
DESTRUCTIVE = ("remove", "delete", "erase", "archive", "leave", "withdraw", "license_revoke", "end_sessions")
OWN_SESSION = ("logout", "revoke_session", "revoke_other_sessions")


def _destructive(rule) -> bool:
    return any(word in rule.endpoint for word in DESTRUCTIVE)


def _act_order(rule) -> tuple:
    return (any(word in rule.endpoint for word in OWN_SESSION), "logout" in rule.endpoint, rule.rule)


def test_every_route_has_an_entry():
    rules = {r.rule for r in RULES}
    missing = sorted(rules - set(MATRIX))
    stale = sorted(set(MATRIX) - rules)
    assert not missing, f"routes without an entry in the access matrix: {missing}"
    assert not stale, f"entries for routes that no longer exist: {stale}"
    assert all(len(row) == len(W.VISITORS) for row in MATRIX.values())


def _row(rule) -> tuple[str, ...] | None:
    return MATRIX.get(rule.rule)


def _check(world, rule, visitors, problems, secrets):
    url = W.url_for_rule(rule, world.ids)
    method = W.method_for_rule(rule)
    expected_row = _row(rule)
    if expected_row is None:
        problems.append(f"{rule.rule}: no entry in the access matrix")
        return
    for visitor in visitors:
        expected = expected_row[W.VISITORS.index(visitor)]
        response = world.clients[visitor].open(url, method=method)
        got = W.outcome(response)
        got = "ok" if got == "allowed" else got
        if got != expected:
            problems.append(f"{method} {url} as {visitor}: expected {expected}, got {got} "
                            f"({response.status_code})")
        if response.status_code == 404:
            body = response.get_data(as_text=True)
            leaked = [s for s in secrets if s in body]
            if leaked:
                problems.append(f"{method} {url} as {visitor}: the 404 page shows {leaked}")
        response.close()


@pytest.mark.parametrize("case", CASES)
def test_access_matrix(case, app, build_world):
    new_world = build_world
    problems: list[str] = []
    kind, group = case.split(" ", 1)
    rules = [r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] == group]
    missing = [r.rule for r in rules if _row(r) is None]
    assert not missing, f"routes without an entry in the access matrix: {missing}"
    if kind == "read":
        world = new_world()
        secrets = [world.ids["code"], world.users["student"].email]
        for rule in rules:
            if W.method_for_rule(rule) == "GET":
                _check(world, rule, W.VISITORS, problems, secrets)
            else:
                refused = [v for v, o in zip(W.VISITORS, _row(rule), strict=True) if o != "ok"]
                _check(world, rule, refused, problems, secrets)
    else:
        posts = sorted((r for r in rules if W.method_for_rule(r) == "POST"), key=_act_order)
        world = new_world()
        secrets = [world.ids["code"], world.users["student"].email]
        for n, rule in enumerate(posts):
            allowed = [v for v, o in zip(W.VISITORS, _row(rule), strict=True) if o == "ok"]
            for i, visitor in enumerate(allowed):
                if _destructive(rule):
                    # A world of its own (a new prefix keeps the e-mails unique).
                    _check(new_world(prefix=f"w{n}.{i}.", visitors=[visitor]), rule, [visitor], problems,
                           secrets)
                else:
                    _check(world, rule, [visitor], problems, secrets)
    assert not problems, "\n".join(problems)


# -- who reviews which request (licenses.rules.may_review) ---------------------------------
#
# Rows: a pending request of ``student``. Columns: ``instructor`` (teaches Player and
# Internship, ``student`` is in their classes where the row says so), ``other_instructor``
# (teaches both too, with classes of their own), ``admin``. ``ok``: listed in the queue
# and on the dashboard, and a decision is taken; ``404``: not listed, and approving or
# rejecting answers 404 and changes nothing. (The admin's dashboard lists no requests.)
#                                                                   (inst  oinst admin)
REVIEW_MATRIX = {
    "next level, student in the instructor's Player class":          "ok    404   ok",
    "next level, student in no class of theirs":                      "404   404   ok",
    "next level, Player taken from the instructor since":             "404   404   ok",
    "next level, the class is archived":                              "404   404   ok",
    "Internship next level, student in their Internship class":       "ok    404   ok",
    "Internship first level (an admin admits), student in the class": "404   404   ok",
    "Player first level of a minor (consent recorded), in the class": "ok    404   ok",
}
REVIEWERS = ("instructor", "other_instructor", "admin")


def _review_case(app, case, make_user, make_specialization, make_license, make_request, make_class, join,
                 assign):
    """The request of the row and the three reviewers."""
    people = {name: make_user(Role.ADMIN if name == "admin" else Role.INSTRUCTOR) for name in REVIEWERS}
    player = make_specialization("PLY", "Player")
    internship = make_specialization("INT", "Internship", auto_issue=False)
    for name in ("instructor", "other_instructor"):
        assign(people[name], player, internship)
    make_class(people["other_instructor"], player)
    make_class(people["other_instructor"], internship)
    minor = case.startswith("Player first level")
    student = make_user(Role.STUDENT, date_of_birth=date(date.today().year - 15, 1, 1) if minor else None)
    spec = internship if case.startswith("Internship") else player
    if "no class" not in case:
        klass = make_class(people["instructor"], spec)
        join(student, klass)
        if "archived" in case:
            with app.app_context():
                class_services.archive_class(db.session.get(Klass, klass.id),
                                             actor=db.session.get(User, people["instructor"].id))
                db.session.commit()
    if "first level" in case:
        with app.app_context():
            holder = db.session.get(User, student.id)
            request = services.select_specialization(
                holder, db.session.get(Specialization, spec.id), holder).request
            if minor:
                services.record_guardian_consent(holder, db.session.get(User, people["admin"].id), "Guardian")
            db.session.commit()
            request_id = request.id
    else:
        request_id = make_request(make_license(student, spec, actor=people["admin"])).id
    if "taken from" in case:
        with app.app_context():
            admin_services.set_specializations(
                db.session.get(User, people["instructor"].id), [internship.id],
                db.session.get(User, people["admin"].id))
            db.session.commit()
    return people, request_id


@pytest.mark.parametrize("case", list(REVIEW_MATRIX))
def test_review_matrix(case, app, make_user, make_specialization, make_license, make_request, make_class,
                       join, assign):
    people, request_id = _review_case(app, case, make_user, make_specialization, make_license, make_request,
                                      make_class, join, assign)
    expected = dict(zip(REVIEWERS, REVIEW_MATRIX[case].split(), strict=True))
    clients = {}
    problems = []
    for name, user in people.items():
        clients[name] = client = app.test_client()
        login(client, user)
        pages = ("/licenses/requests/",) if name == "admin" else ("/licenses/requests/", "/dashboard")
        for page in pages:
            listed = f'id="request-{request_id}"' in client.get(page).get_data(as_text=True)
            if listed != (expected[name] == "ok"):
                problems.append(f"{name} {page}: {'listed' if listed else 'not listed'}, "
                                f"expected {expected[name]}")
    for name in REVIEWERS:
        if expected[name] == "404":
            for decision in ("approve", "reject"):
                answer = clients[name].post(f"/licenses/requests/{request_id}/{decision}", data={"note": "x"})
                if answer.status_code != 404:
                    problems.append(f"{name} {decision}: {answer.status_code}, expected 404")
    with app.app_context():
        assert db.session.get(UpgradeRequest, request_id).status == RequestStatus.PENDING, problems
    # The first reviewer allowed decides (the instructor where they may, else the admin).
    decider = next(name for name in REVIEWERS if expected[name] == "ok")
    answer = clients[decider].post(f"/licenses/requests/{request_id}/approve", data={"note": "Seen in class"})
    if answer.status_code != 303:
        problems.append(f"{decider} approve: {answer.status_code}, expected 303")
    with app.app_context():
        request = db.session.get(UpgradeRequest, request_id)
        decided = (request.status, request.decided_by_id)
        assert decided == (RequestStatus.APPROVED, people[decider].id), problems
    assert not problems, "\n".join(problems)


# -- whose licenses an instructor sees (licenses.visibility.reader_of) ---------------------
#
# ``student`` is in the instructor's Player class and holds a license in each row's
# specialization. ``ok``: the license page opens and the instructor's view of the student
# lists it; ``404``: neither.                                             (inst  admin)
LICENSE_MATRIX = {
    "Player, taught in the instructor's class":                          "ok    ok",
    "Referee, which the instructor also teaches, but in no class of theirs": "404   ok",
    "Goalkeeper, which the instructor does not teach":                  "404   ok",
}


@pytest.mark.parametrize("case", list(LICENSE_MATRIX))
def test_license_matrix(case, app, make_user, make_specialization, make_license, make_class, join, assign):
    instructor, admin = make_user(Role.INSTRUCTOR), make_user(Role.ADMIN)
    player = make_specialization("PLY", "Player")
    referee = make_specialization("REF", "Referee")
    keeper = make_specialization("GKP", "Goalkeeper")
    assign(instructor, player, referee)
    klass = make_class(instructor, player)
    student = make_user(Role.STUDENT)
    join(student, klass)
    spec = {"Player": player, "Referee": referee, "Goalkeeper": keeper}[case.split(",")[0]]
    license = make_license(student, spec, actor=admin)
    expected = dict(zip(("instructor", "admin"), LICENSE_MATRIX[case].split(), strict=True))
    for name, user in (("instructor", instructor), ("admin", admin)):
        client = app.test_client()
        login(client, user)
        page = client.get(f"/licenses/{license.id}")
        assert page.status_code == (200 if expected[name] == "ok" else 404), name
        view = client.get(f"/dashboard/classes/{klass.id}/students/{student.id}").get_data(as_text=True)
        assert (license.code in view) == (expected[name] == "ok"), name
