"""Words people use (issue 15, points 5 and 6): technical details behind a disclosure, a
signing-keys page for people, one word for one thing, history newest first everywhere."""
from __future__ import annotations

import re
from pathlib import Path

from portal.models.license import License, RequestStatus, UpgradeRequest
from portal.models.user import Role
from portal.transparency import checkpoints
from tests.support.http import login
from tests.support.lookups import get

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _outside_details(page: str) -> str:
    return re.sub(r'<details class="technical-details">.*?</details>', "", page, flags=re.S)


def test_student_sees_key_id_and_hashes_only_in_technical_details(
    app, client, make_user, make_specialization, make_license
):
    student = make_user()
    lic = make_license(student, make_specialization(name="Player"))
    with app.app_context():
        stored = get(License, lic)
        key_id, head_hash = stored.key_id, stored.head_hash
    login(client, student)
    page = client.get(f"/licenses/{lic.id}").get_data(as_text=True)
    details = re.search(r'<details class="technical-details">(.*?)</details>', page, flags=re.S)
    assert details, "no technical details disclosure"
    assert "<summary>Technical details</summary>" in details.group(1)
    assert key_id in details.group(1) and head_hash[:16] in details.group(1)
    visible = _outside_details(page)
    assert key_id not in visible and head_hash[:16] not in visible
    assert "History intact and signature valid" in visible


def test_signing_keys_page_explains_and_links_the_json(app, client, make_user, make_specialization,
                                                        make_license):
    make_license(make_user(), make_specialization())  # makes the first key
    keys = client.get("/.well-known/portal-keys.json").get_json()["keys"]
    page = client.get("/keys")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Signing keys</h1>" in html
    assert 'href="/.well-known/portal-keys.json"' in html
    assert "retired" in html.lower() and "signature" in html
    for key in keys:
        assert key["kid"] in html
    # The footer's "Signing keys" leads to the page, not to the JSON.
    assert re.search(r'<a href="/keys">Signing keys</a>', client.get("/verify").get_data(as_text=True))


def test_one_word_for_verifying_and_for_status(client, logged_admin, make_specialization):
    make_specialization()
    page = client.get("/verify").get_data(as_text=True)
    assert "Verify a license" not in page
    assert page.count("Verify a certificate") >= 3  # title, heading, navigation and footer
    specs = client.get("/admin/specializations").get_data(as_text=True)
    assert '<th scope="col">Status</th>' in specs
    for template in TEMPLATES.rglob("*.html"):
        text = template.read_text()
        assert ">State<" not in text and 'data-label="State"' not in text, template
        assert "Verify a license" not in text, template


def _positions(page: str, words: list[str]) -> list[int]:
    return [page.index(w) for w in words]


def test_history_is_newest_first_on_every_page(app, client, login_as, make_user,
                                               make_specialization, make_license):
    lic = make_license(make_user(), make_specialization())
    login_as(Role.ADMIN)
    base = f"/admin/licenses/{lic.id}"
    assert client.post(f"{base}/suspend", data={"note": "Fees"}).status_code == 303
    assert client.post(f"{base}/reinstate", data={"note": "Paid"}).status_code == 303

    page = client.get(f"/licenses/{lic.id}").get_data(as_text=True)
    history = page[page.index('id="history-title"'):]
    first = _positions(history, ["<strong>Reinstated</strong>", "<strong>Suspended</strong>",
                                 "<strong>Issued</strong>"])
    assert first == sorted(first), "license page: newest first"

    page = client.get(base).get_data(as_text=True)
    history = page[page.index('id="history"'):]
    first = _positions(history, ["<strong>reinstated</strong>", "<strong>suspended</strong>",
                                 "<strong>issued</strong>"])
    assert first == sorted(first), "admin license page: newest first"
    assert "Newest first." in history

    page = client.get(f"/audit/resource/license/{lic.id}").get_data(as_text=True)
    first = _positions(page, ["license.reinstated", "license.suspended", "license.issued"])
    assert first == sorted(first), "audit resource history: newest first"
    assert "Newest first." in page


def _requests_table(page: str) -> str:
    match = re.search(r'<table class="responsive requests-table">.*?</table>', page, flags=re.S)
    assert match, "no requests table"
    return re.sub(r'name="csrf_token" value="[^"]+"', "", match.group(0))  # signed per second


def test_dashboard_and_licenses_share_one_requests_table(app, client, make_user, make_specialization,
                                                         make_license, make_request):
    student = make_user()
    lic = make_license(student, make_specialization(name="Player"))
    make_request(lic)
    make_specialization(name="Referee", auto_issue=False)
    login(client, student)
    page = client.get("/licenses/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    referee = re.search(r'value="([^"]+)"[^>]*>\s*<strong>Referee</strong>', page).group(1)
    assert client.post("/licenses/select-specialization", data={"specialization": referee,
                                                 "csrf_token": token}).status_code in (200, 303)
    on_dashboard = _requests_table(client.get("/dashboard").get_data(as_text=True))
    on_licenses = _requests_table(client.get("/licenses/").get_data(as_text=True))
    assert on_dashboard == on_licenses
    assert '<th scope="col">Status</th>' in on_dashboard and ">State<" not in on_dashboard
    assert "1 → 2" in on_dashboard and "Start: level 1" in on_dashboard
    assert on_dashboard.count(">Withdraw</button>") == 2


def _card(page: str, request_id: int) -> str:
    match = re.search(rf'<article class="request-card" id="request-{request_id}">.*?</article>', page,
                      flags=re.S)
    assert match, "no decision card"
    return re.sub(r'name="csrf_token" value="[^"]+"', "", match.group(0))


def test_dashboard_and_queue_decide_with_one_card_and_reject_asks_first(
    app, client, make_user, make_specialization, make_license, make_request, make_class, join
):
    spec = make_specialization(name="Player")
    teacher = make_user(Role.INSTRUCTOR)
    student = make_user(name="Alex Moreno")
    join(student, make_class(teacher, spec))
    request = make_request(make_license(student, spec, 1))
    login(client, teacher)
    on_dashboard = _card(client.get("/dashboard").get_data(as_text=True), request.id)
    on_queue = _card(client.get("/licenses/requests/").get_data(as_text=True), request.id)
    assert on_dashboard == on_queue
    assert on_dashboard.count("<textarea") == 1 and on_dashboard.count("<form") == 1  # one note field
    assert 'data-confirm="Reject this request?' in on_dashboard
    assert "hx-vals='{\"confirmed\": \"yes\"}'" in on_dashboard

    url = f"/licenses/requests/{request.id}/reject"
    asked = client.post(url, data={"note": "Line one\nLine two"})
    body = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Reject this request?" in body and "Yes, reject" in body
    assert '<textarea name="note" hidden>Line one\nLine two</textarea>' in body
    assert '<input type="hidden" name="confirmed" value="yes">' in body
    with app.app_context():
        assert get(UpgradeRequest, request).status == RequestStatus.PENDING
    done = client.post(url, data={"note": "Line one\nLine two", "confirmed": "yes"})
    assert done.status_code == 303
    with app.app_context():
        decided = get(UpgradeRequest, request)
        assert decided.status == RequestStatus.REJECTED and decided.decision_note == "Line one\nLine two"


def test_the_keys_page_names_the_transparency_logs_key(app, client):
    """The checkpoint key, for people: its name (the log's origin), its C2SP vkey line and
    what it signs; the same values as the JSON's, in English and in Spanish and Hungarian."""
    published = client.get("/.well-known/portal-keys.json").get_json()["transparency_checkpoint_keys"][0]
    html = client.get("/keys").get_data(as_text=True)
    assert "The transparency log&#39;s key" in html or "The transparency log's key" in html
    assert f"<code>{published['name']}</code>" in html
    assert f"<code>{published['vkey']}</code>" in html and f"<code>{published['key_hash']}</code>" in html
    assert "never signs certificates" in html and 'href="/transparency/checkpoint"' in html
    with app.app_context():
        assert published["vkey"] == checkpoints.vkey(checkpoints.origin(), checkpoints.public_key())
    translated = {"es": "La clave del registro de transparencia", "hu": "Az átláthatósági napló kulcsa"}
    for lang, words in translated.items():
        page = client.get(f"/keys?lang={lang}").get_data(as_text=True)
        assert words in page and published["vkey"] in page
