"""Every admin screen renders for an admin, as a page and (where live) as an htmx partial."""

from __future__ import annotations

import re

from portal.extensions import db
from portal.jobs import enqueue
from portal.models.job import Job


def test_every_screen_for_an_admin(
    app, client, logged_admin, make_user, make_specialization, make_license, make_class
):
    student = make_user(email="shown@example.test", name="Shown Student")
    spec = make_specialization()
    license = make_license(student, spec)
    teacher = make_user("instructor")
    make_class(teacher, spec, name="Evening group")

    with app.app_context():
        job = enqueue("licenses.bulk", {"action": "issue", "class_name": "Saturday squad"}, None)
        db.session.commit()
        job_id = job.id
    pages = {
        "/admin/": "Academy overview",
        "/admin/users": "Shown Student",
        "/admin/users/new": "Create an account",
        f"/admin/users/{student.id}": "shown@example.test",
        "/admin/specializations": spec.name,
        "/admin/specializations/new": "New specialization",
        f"/admin/specializations/{spec.id}": "Levels and requirements",
        "/admin/licenses": license.code,
        "/admin/licenses/issue": "Issue a license",
        f"/admin/licenses/{license.id}": license.code,
        f"/admin/licenses/{license.id}/suspend": "Suspend license",
        f"/admin/licenses/{license.id}/revoke": "Revoke license",
        "/admin/licenses/bulk": "Evening group",
        "/admin/jobs": f"#{job_id}",
        f"/admin/jobs/{job_id}": "Progress",
    }
    # The job is named by what it does, not its id and kind.
    job_page = client.get(f"/admin/jobs/{job_id}").get_data(as_text=True)
    assert "<h1>Bulk issue: Saturday squad</h1>" in job_page
    assert "licenses.bulk" not in job_page
    assert "Bulk issue: Saturday squad" in client.get("/admin/jobs").get_data(as_text=True)
    for url, expected in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert expected in body, url
        assert len(re.findall(r"<h1[ >]", body)) == 1, url
        assert 'style="' not in body and "<script>" not in body, url


def test_missing_objects_are_404(client, logged_admin):
    for url in ("/admin/users/999", "/admin/specializations/999", "/admin/licenses/999", "/admin/jobs/999"):
        assert client.get(url).status_code == 404, url


def test_jobs_list_empty_state(client, logged_admin):
    body = client.get("/admin/jobs").get_data(as_text=True)
    assert "No jobs yet" in body


def _main(page: str) -> str:
    main = re.search(r"<main[^>]*>(.*)</main>", page, flags=re.S).group(1)
    main = re.sub(r'name="csrf_token" value="[^"]+"|\s*aria-current="page"', "", main)
    return re.sub(r"\s+", " ", main).replace(" >", ">").strip()


def test_one_admin_overview_on_the_dashboard_and_the_admin_hub(client, logged_admin, make_user, app):
    make_user(status="suspended")
    body = client.get("/admin/").get_data(as_text=True)
    assert "<h1>Academy overview</h1>" in body
    assert 'aria-label="Students, suspended: 1"' in body
    assert "Recent jobs" in body and "Create an account" in body
    # One overview: the admin's dashboard shows exactly the same content.
    assert _main(client.get("/dashboard").get_data(as_text=True)) == _main(body)
    with app.app_context():
        assert db.session.query(Job).count() == 0
