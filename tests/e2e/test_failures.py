"""Failures are never silent: a failed htmx request says so beside its control, and an
ended session takes the person to the login form and back to the page they were on."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from portal.classes import services as class_services
from portal.extensions import db
from portal.models.catalogue import RequirementCompletion
from portal.models.klass import Klass
from portal.models.user import User
from portal.permissions import SESSION_ENDED
from tests.support.journeys import JOURNEY_PASSWORD, log_in
from tests.support.live import BROWSER_THREADS, HttpClient

UNREACHABLE = "Portal could not be reached. Check your connection and try again."
# What Chromium and htmx log when a request never gets an answer.
NETWORK_NOISE = re.compile(r"net::ERR_FAILED|htmx:sendError|htmx:afterRequest")


@pytest.fixture
def squad(app, make_user, make_specialization, make_class, join, make_license):
    """An instructor's class of two students, each with requirements for level 2."""
    spec = make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)
    students = [make_user("student", name=name) for name in ("Alex Moreno", "Bea Lund")]
    klass = make_class(coach, spec, "Saturday squad")
    for student in students:
        join(student, klass)
        make_license(student, spec, 1)
    return {"coach": coach, "students": students, "klass": klass, "page": f"/dashboard/classes/{klass.id}"}


def confirmations(app, student) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(RequirementCompletion)
                                 .where(RequirementCompletion.user_id == student.id))


def test_a_failed_tick_says_why_beside_the_checkbox(portal, browse, app, squad):
    alex, bea = squad["students"]
    tab = browse("instructor")
    tab.allowed_statuses |= {403}
    tab.allowed_console.append(NETWORK_NOISE)
    page = tab.page
    log_in(tab, "carla@example.org")
    tab.goto(squad["page"])

    # The network fails: the row stays, and an alert says nothing reached Portal.
    row = page.locator(f"#student-{alex.id}")
    page.route("**/requirements", lambda route: route.abort())
    row.locator("input[name=requirement]").first.check()
    expect(row.get_by_role("alert")).to_have_text(UNREACHABLE)
    tab.check()
    assert confirmations(app, alex) == 0
    page.unroute("**/requirements")
    # Trying again works, and the alert goes away.
    with page.expect_response(lambda r: r.url.endswith("/requirements")):
        row.locator("input[name=requirement]").first.uncheck()
    with page.expect_response(lambda r: r.url.endswith("/requirements")):
        page.locator(f"#student-{alex.id}").locator("input[name=requirement]").first.check()
    expect(page.locator(f"#student-{alex.id}").get_by_role("status")).to_have_text("Saved")
    expect(page.locator(f"#student-{alex.id}").get_by_role("alert")).to_have_count(0)
    assert confirmations(app, alex) == 1

    # Alex left the class meanwhile: a 404, in the error page's words.
    with app.app_context():
        klass = db.session.get(Klass, squad["klass"].id)
        class_services.remove_student(klass, db.session.get(User, alex.id),
                                      actor=db.session.get(User, squad["coach"].id))
        db.session.commit()
    row = page.locator(f"#student-{alex.id}")
    row.locator("input[name=requirement]").last.check()
    alert = row.get_by_role("alert")
    expect(alert).to_contain_text("Page not found")
    expect(alert).to_contain_text("There is nothing here. Check the address, or go back to your dashboard.")
    tab.check()

    # The class was archived meanwhile: a 403, said beside Bea's boxes.
    with app.app_context():
        klass = db.session.get(Klass, squad["klass"].id)
        class_services.archive_class(klass, actor=db.session.get(User, squad["coach"].id))
        db.session.commit()
    row = page.locator(f"#student-{bea.id}")
    row.locator("input[name=requirement]").first.check()
    alert = row.get_by_role("alert")
    expect(alert).to_contain_text("Not allowed")
    expect(alert).to_contain_text("Your account is not allowed to do this.")
    tab.check()
    tab.shot("htmx-error-beside-control")
    assert confirmations(app, bea) == 0


def test_a_rate_limited_login_click_says_how_long_to_wait(live_server, browse, make_user):
    server = live_server(workers=1, threads=BROWSER_THREADS, PORTAL_RATELIMIT_ENABLED="1",
                         PORTAL_RATELIMIT_LOGIN="2 per minute")
    browse.base_url = server.url
    make_user("student", email="alex@example.org", password=JOURNEY_PASSWORD)
    tab = browse("student")
    tab.allowed_statuses.add(429)
    page = tab.page
    tab.goto("/auth/login")
    page.fill("#email", "alex@example.org")
    for _ in range(2):
        page.fill("#password", "not my password")
        with page.expect_response(lambda r: "/auth/login" in r.url and r.request.method == "POST"):
            page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.locator("#password-error, .field-error, [role=alert]").first).to_be_visible()
    page.fill("#password", JOURNEY_PASSWORD)
    with page.expect_response(lambda r: r.status == 429) as answer:
        page.get_by_role("button", name="Log in", exact=True).click()
    retry_after = int(answer.value.headers["retry-after"])
    alert = page.locator("form").get_by_role("alert")
    expect(alert).to_contain_text("Too many requests")
    expect(alert).to_contain_text(re.compile(r"Please wait (\d+ seconds?|about \d+ minutes?) and try again"))
    text = alert.inner_text()
    assert str(retry_after) in text or str(retry_after + 1) in text or "about 1 minute" in text, text
    assert tab.path == "/auth/login"
    tab.check()


def test_a_server_error_shows_its_incident(live_server, browse, make_user, app):
    server = live_server(workers=1, threads=BROWSER_THREADS, app="tests.support.faults:app",
                         PORTAL_TEST_FAULT="/audit/")
    browse.base_url = server.url
    make_user("admin", email="ada@example.org", password=JOURNEY_PASSWORD)
    tab = browse("admin")
    tab.allowed_statuses.add(500)
    page = tab.page
    log_in(tab, "ada@example.org")
    tab.goto("/audit/")  # the full page opens; its live filter fails
    with page.expect_response(lambda r: r.status == 500):
        page.select_option("#outcome", "failure")
    alert = page.locator("form.audit-filters").get_by_role("alert")
    expect(alert).to_contain_text("Something went wrong")
    expect(alert).to_contain_text(re.compile(r"Incident reference: [0-9a-f]{12}"))
    incident = re.search(r"[0-9a-f]{12}", alert.locator("code").inner_text()).group(0)
    assert f"incident {incident}" in server.log()
    tab.check()


def test_an_ended_session_goes_to_login_and_back(portal, browse, app, squad):
    alex = squad["students"][0]
    tab = browse("instructor")
    page = tab.page
    log_in(tab, "carla@example.org")
    other_device = HttpClient(portal.url)
    other_device.login("carla@example.org", JOURNEY_PASSWORD)

    # On the roster, after another device logged this one out, a tick goes to the login form ...
    tab.goto(squad["page"] + "?q=Alex")
    other_device.post("/auth/sessions/revoke-others", form_page="/auth/sessions")
    # A click, not check(): the page leaves before the box could be seen ticked.
    with page.expect_navigation():
        page.locator(f"#student-{alex.id}").locator("input[name=requirement]").first.click()
    tab.wait_for_path("/auth/login")
    expect(page.locator("#flashes")).to_contain_text(str(SESSION_ENDED))
    assert page.locator(f"#student-{alex.id}").count() == 0  # a whole page, not a swapped-in form
    tab.check()
    assert confirmations(app, alex) == 0
    # ... and back to the roster as it was, where the tick can be made again.
    page.fill("#email", "carla@example.org")
    page.fill("#password", JOURNEY_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    tab.wait_for_path(squad["page"])
    assert page.url.endswith(squad["page"] + "?q=Alex")
    tab.check()
    with page.expect_response(lambda r: r.url.endswith("/requirements")):
        page.locator(f"#student-{alex.id}").locator("input[name=requirement]").first.check()
    expect(page.locator(f"#student-{alex.id}").get_by_role("status")).to_have_text("Saved")
    assert confirmations(app, alex) == 1
