"""Every page fits a phone (390 px) and a desktop (1280 px); the roster, the navigation and
the buttons are usable on a phone.

The pages come from tests/support/pages.py (every GET route of the URL map, on the demo
academy), opened by a visitor of each kind.
"""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models.catalogue import RequirementCompletion
from portal.seed.accounts import DEMO_PASSWORD
from tests.support.journeys import keyboard_to, log_in, password_step
from tests.support.live import LIVE_SECRET_KEY
from tests.support.pages import demo_pages, page_urls

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}

# What is wrong with a page at the current width, as sentences (none: it fits).
# - The page may not scroll sideways.
# - No element may cut its content off: overflow other than visible with content wider
#   than the box (an inner scrollbar or a clipped "Positio"), except the one-pixel boxes
#   of visually hidden text and form fields (which scroll their own text by design).
# - Table cells, buttons and labels may not let their content spill out of their box.
LAYOUT_PROBLEMS = """() => {
  const problems = [];
  const name = (e) => {
    const id = e.id ? '#' + e.id : '';
    const classes = typeof e.className === 'string' ? e.className.trim().split(/\\s+/).filter(Boolean) : [];
    const cls = classes.map((c) => '.' + c).join('');
    const text = (e.innerText || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    return `<${e.tagName.toLowerCase()}${id}${cls}>` + (text ? ` "${text}"` : '');
  };
  const seen = (e) => e.checkVisibility() && !(e.clientWidth <= 1 && e.clientHeight <= 1);
  const all = [...document.body.querySelectorAll('*')].filter(seen);
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    const past = all.filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5);
    const outermost = past.filter((e) => !past.includes(e.parentElement)).slice(0, 3).map(name);
    problems.push(`scrolls sideways: ${root.scrollWidth}px wide in ${window.innerWidth}px, `
                  + `past the edge: ${outermost.join(', ')}`);
  }
  for (const e of all) {
    if (e.matches('input, select, textarea')) continue;
    const overflow = getComputedStyle(e).overflowX;
    const spills = e.matches('td, th, button, [role=button], label, summary');
    if (e.scrollWidth > e.clientWidth + 1 && (overflow !== 'visible' || spills)) {
      problems.push(`${name(e)} cuts off its content: ${e.scrollWidth}px in ${e.clientWidth}px `
                    + `(overflow-x: ${overflow})`);
    }
  }
  return problems;
}"""


def layout_problems(tab) -> list[str]:
    return tab.page.evaluate(LAYOUT_PROBLEMS)


@pytest.fixture
def demo(app):
    return demo_pages(app)


def test_every_page_fits_a_phone_and_a_desktop(portal, browse, app, demo):
    urls = page_urls(app, demo, LIVE_SECRET_KEY)
    visitors = {"public": None, "student": demo["student"], "instructor": demo["instructor"],
                "admin": demo["admin"]}
    measured: dict[str, list[str]] = {}  # endpoint -> the visitors who saw it
    answers: dict[str, list[str]] = {}   # endpoint -> what the others got
    problems: list[str] = []
    for visitor, email in visitors.items():
        tab = browse(visitor, viewport=PHONE)
        tab.allowed_statuses.add(400)
        if email:
            log_in(tab, email, DEMO_PASSWORD)
        else:  # half-way through the admin's login: the second step's page is the visitor's
            password_step(tab, demo["admin"], DEMO_PASSWORD)
        for endpoint, paths in sorted(urls.items()):
            for path in paths:
                # Ask first (same cookies, no page load): only what this visitor may see
                # is opened, and the page saying what is wrong with a request (400: a reset
                # link that is not valid). Refusals and redirects are someone else's page;
                # the error page is checked once below.
                probe = tab.page.request.get(tab.base_url + path, max_redirects=0)
                kind = probe.headers.get("content-type", "")
                if probe.status not in (200, 400):
                    answers.setdefault(endpoint, []).append(f"{visitor}: {probe.status}")
                    continue
                assert kind.startswith("text/html"), (
                    f"{path} answers {kind}: list {endpoint} in NOT_HTML if it is not a page")
                tab.page.set_viewport_size(PHONE)
                tab.goto(path)  # axe checks it at phone width
                problems += [f"{visitor} {path} at 390 px: {p}" for p in layout_problems(tab)]
                tab.page.set_viewport_size(DESKTOP)
                problems += [f"{visitor} {path} at 1280 px: {p}" for p in layout_problems(tab)]
                measured.setdefault(endpoint, []).append(visitor)
        if visitor == "public":  # the error page, which every visitor may meet
            response = tab.goto("/no-such-page")
            assert response.status == 404
            problems += [f"public 404 page at 1280 px: {p}" for p in layout_problems(tab)]
            tab.page.set_viewport_size(PHONE)
            problems += [f"public 404 page at 390 px: {p}" for p in layout_problems(tab)]

    unseen = {e: answers.get(e) for e in urls if e not in measured}
    assert not unseen, f"pages no visitor could open (give the demo fixture an id or a visitor): {unseen}"
    assert {"public", "student", "instructor", "admin"} <= {v for vs in measured.values() for v in vs}
    assert not problems, f"{len(problems)} layout problems:\n  " + "\n  ".join(problems)


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found, f"{locator} is not laid out"
    return found


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_roster_is_a_card_per_student_on_a_phone(portal, browse, app, demo, js):
    tab = browse("instructor", js=js, viewport=PHONE)
    page = tab.page
    log_in(tab, demo["instructor"], DEMO_PASSWORD)
    tab.goto(f"/dashboard/classes/{demo['class_id']}")
    tab.shot("roster")

    rows = page.locator("table.roster > tbody > tr")
    assert rows.count() >= 2
    assert page.locator("table.roster > thead").is_hidden()
    for row in rows.all():
        card = box(row)
        assert card["x"] >= 0 and card["x"] + card["width"] <= PHONE["width"], f"{card} leaves the screen"
        assert card["width"] >= PHONE["width"] * 0.8, "a card spans the width of the phone"
        # Name first, then a progress bar most of the card wide (not a dot).
        assert row.locator("td.student strong").is_visible()
        progress = row.locator("progress")
        if progress.count():
            assert box(progress)["width"] >= card["width"] * 0.6
        # Each requirement is a target 44 px high with a 24 px checkbox; targets do not overlap.
        bottom = 0
        for label in row.locator(".requirements-form label").all():
            target = box(label)
            assert target["height"] >= 44 and target["width"] >= card["width"] * 0.6, target
            assert target["y"] >= bottom, "requirement targets overlap"
            bottom = target["y"] + target["height"]
            checkbox = box(label.locator("input[type=checkbox]"))
            assert checkbox["width"] >= 24 and checkbox["height"] >= 24, checkbox
        remove = box(row.get_by_role("button", name="Remove"))
        assert remove["height"] >= 44 and remove["width"] < card["width"] / 2
    assert not layout_problems(tab)

    # Tick an open requirement by tapping its label: saved, and the row is still a card.
    box_ = page.locator("table.roster input[name=requirement]:not(:checked)").first
    row_id = box_.locator("xpath=ancestor::tr").get_attribute("id")
    student_id = int(row_id.removeprefix("student-"))
    requirement_id = int(box_.get_attribute("value"))
    label = page.locator(f"#{row_id} label", has=page.locator(f"input[value='{requirement_id}']"))
    if js:  # the change saves at once and the row comes back from the server
        with page.expect_response(lambda r: "/requirements" in r.url and r.status == 200):
            label.click()
        page.locator(f"#{row_id} [role=status]", has_text="Saved").wait_for()
    else:
        label.click()
        with page.expect_navigation():
            page.locator(f"#{row_id}").get_by_role("button", name="Save").click()
    tab.check()
    row = page.locator(f"#{row_id}")
    assert row.locator(f"input[name=requirement][value='{requirement_id}']").is_checked()
    assert row.evaluate("(tr) => getComputedStyle(tr).display") == "block"
    assert box(row)["x"] + box(row)["width"] <= PHONE["width"]
    with app.app_context():
        assert db.session.scalar(sa.select(RequirementCompletion).where(
            RequirementCompletion.user_id == student_id,
            RequirementCompletion.requirement_id == requirement_id))

    # The same markup is a table on a desktop.
    page.set_viewport_size(DESKTOP)
    assert page.locator("table.roster > thead").is_visible()
    assert row.evaluate("(tr) => getComputedStyle(tr).display") == "table-row"
    assert not layout_problems(tab)


def expanded_disclosures(page) -> dict[str, bool]:
    """Chromium's own accessibility tree: each disclosure summary's name and expanded state,
    and the links a screen reader is offered (name -> True)."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    found = {}
    for node in nodes:
        if node.get("ignored"):
            continue
        role, name = node.get("role", {}).get("value"), node.get("name", {}).get("value", "").strip()
        props = {p["name"]: p["value"].get("value") for p in node.get("properties", [])}
        if role == "DisclosureTriangle":
            found[f"summary {name}"] = bool(props.get("expanded"))
        elif role == "link":
            found[f"link {name}"] = True
    return found


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_navigation_is_a_menu_on_a_phone(portal, browse, demo, js):
    tab = browse("admin", js=js, viewport=PHONE)
    page = tab.page
    log_in(tab, demo["admin"], DEMO_PASSWORD)
    tab.goto("/dashboard")
    nav = page.locator("nav[aria-label=Main]")
    menu = nav.locator("details.nav-menu > summary")
    links = nav.locator(".nav-links > li > a")

    # Closed: one row (brand and "Menu"), no link of the menu shown or offered to a screen reader.
    assert menu.is_visible() and menu.inner_text().strip() == "Menu"
    assert all(link.is_hidden() for link in links.all())
    assert box(page.locator("header.site-header"))["height"] < 100
    tree = expanded_disclosures(page)
    assert tree["summary Menu"] is False and "link Dashboard" not in tree

    # With the keyboard: Tab to "Menu", Enter opens it; the current page is marked.
    keyboard_to(tab, "details.nav-menu > summary")
    page.keyboard.press("Enter")
    assert all(link.is_visible() for link in links.all())
    assert expanded_disclosures(page)["summary Menu"] is True
    current = nav.locator("[aria-current=page]")
    assert current.count() == 1 and current.inner_text() == "Dashboard"
    for link in links.all():
        assert box(link)["height"] >= 44
    assert not layout_problems(tab)
    keyboard_to(tab, "nav .nav-links a[href='/dashboard/classes']", limit=10)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    tab.check()
    assert nav.locator("[aria-current=page]").text_content().strip() == "Classes"
    assert all(link.is_hidden() for link in links.all())  # closed again on the new page

    # A desktop shows the links in a row, without the button, to everyone.
    page.set_viewport_size(DESKTOP)
    assert menu.is_hidden()
    assert all(link.is_visible() for link in links.all())
    tops = {round(box(link)["y"]) for link in links.all()}
    assert len(tops) == 1, f"the links wrap: {tops}"
    tree = expanded_disclosures(page)
    assert "summary Menu" not in tree and {"link Dashboard", "link Classes", "link Audit"} <= set(tree)
    assert not layout_problems(tab)


def test_decision_and_renew_buttons_keep_their_size(portal, browse, demo):
    tab = browse("admin", viewport=DESKTOP)
    page = tab.page
    log_in(tab, demo["admin"], DEMO_PASSWORD)
    tab.goto("/licenses/requests/")
    form = page.locator(".request-card form").first
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        width = box(form)["width"]
        approve = box(form.get_by_role("button", name="Approve"))
        reject = box(form.get_by_role("button", name="Reject"))
        assert approve["width"] < width / 3 and reject["width"] < width / 3, (approve, reject, width)
        assert approve["y"] == reject["y"], "Approve and Reject stand side by side"
    tab.goto(f"/admin/licenses/{demo['ids']['license_id']}")
    renew = page.get_by_role("button", name=re.compile(r"^Renew"))
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        width = box(renew.locator("xpath=ancestor::form"))["width"]
        assert box(renew)["width"] < width * 0.75, "Renew is a button, not a bar"
