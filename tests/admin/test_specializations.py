"""Specializations: create, edit, levels and requirements, archive instead of delete."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models.catalogue import Level, Requirement, Specialization


def _spec(app, spec_id):
    with app.app_context():
        spec = db.session.get(Specialization, spec_id)
        levels = [(lv.number, lv.title, [r.title for r in lv.requirements]) for lv in spec.levels]
        db.session.expunge_all()
        return spec, levels


FORM = {
    "code": "sky",
    "name": "Skydiving",
    "description": "Up and down",
    "max_level": "3",
    "min_age": "16",
    "validity_months": "12",
    "auto_issue": "y",
}


def test_create_specialization_with_levels(app, client, logged_admin, audit_events):
    response = client.post("/admin/specializations/new", data=FORM)
    assert response.status_code == 303
    with app.app_context():
        spec_id = db.session.scalar(sa.select(Specialization.id).where(Specialization.code == "SKY"))
    spec, levels = _spec(app, spec_id)
    assert (spec.name, spec.max_level, spec.min_age, spec.validity_months, spec.auto_issue) == (
        "Skydiving",
        3,
        16,
        12,
        True,
    )
    assert [n for n, _, _ in levels] == [1, 2, 3]
    event = audit_events("specialization.created")[-1]
    assert event.details["after"]["code"] == "SKY" and event.actor_id == logged_admin.id


def test_create_refuses_bad_and_duplicate_values(client, logged_admin, make_specialization):
    existing = make_specialization(code="DUP", name="Duplicate")
    response = client.post("/admin/specializations/new", data={**FORM, "code": "TOOLONG"})
    assert response.status_code == 422 and "Three letters" in response.get_data(as_text=True)
    response = client.post("/admin/specializations/new", data={**FORM, "code": existing.code})
    assert response.status_code == 422 and "already used" in response.get_data(as_text=True)
    response = client.post("/admin/specializations/new", data={**FORM, "name": "duplicate"})
    assert response.status_code == 422 and "already exists" in response.get_data(as_text=True)
    assert 'value="duplicate"' in response.get_data(as_text=True)


def test_edit_records_before_and_after(app, client, logged_admin, make_specialization, audit_events):
    spec = make_specialization(max_level=2)
    response = client.post(
        f"/admin/specializations/{spec.id}",
        data={**FORM, "code": spec.code, "name": "Renamed", "max_level": "4", "auto_issue": ""},
    )
    assert response.status_code == 303
    saved, levels = _spec(app, spec.id)
    assert saved.name == "Renamed" and saved.auto_issue is False and len(levels) == 4
    event = audit_events("specialization.updated")[-1]
    assert event.details["before"]["name"] == spec.name and event.details["after"]["name"] == "Renamed"
    assert "max_level" in event.details["changed"]


def test_levels_that_holders_reached_cannot_be_removed(
    app, client, logged_admin, make_user, make_specialization, make_license, audit_events
):
    spec = make_specialization(max_level=3)
    make_license(make_user(), spec, level=2)
    # Shrinking to 1 level would drop level 2, which a holder has.
    response = client.post(
        f"/admin/specializations/{spec.id}",
        data={**FORM, "code": spec.code, "name": spec.name, "max_level": "1"},
    )
    assert response.status_code == 422 and "reached" in response.get_data(as_text=True)
    with app.app_context():
        level3 = db.session.scalar(
            sa.select(Level).where(Level.specialization_id == spec.id, Level.number == 3)
        )
        level2_id = db.session.scalar(
            sa.select(Level.id).where(Level.specialization_id == spec.id, Level.number == 2)
        )
        level3_id = level3.id
    # Level 3 nobody reached: removable. Then level 2 is the top, and reached: refused.
    assert client.post(f"/admin/levels/{level3_id}/remove").status_code == 303
    client.post(f"/admin/levels/{level2_id}/remove")
    saved, levels = _spec(app, spec.id)
    assert saved.max_level == 2 and [n for n, _, _ in levels] == [1, 2]
    page = client.get(f"/admin/specializations/{spec.id}").get_data(as_text=True)
    assert "cannot be removed" in page
    removed = [
        e for e in audit_events("specialization.updated") if e.details.get("change") == "level_removed"
    ]
    assert [e.details["level"] for e in removed] == [3]


def test_only_the_top_level_can_be_removed(app, client, logged_admin, make_specialization):
    spec = make_specialization(max_level=3)
    with app.app_context():
        level1 = db.session.scalar(
            sa.select(Level.id).where(Level.specialization_id == spec.id, Level.number == 1)
        )
    client.post(f"/admin/levels/{level1}/remove")
    assert _spec(app, spec.id)[0].max_level == 3


def test_add_and_edit_a_level(app, client, logged_admin, make_specialization, audit_events):
    spec = make_specialization(max_level=1)
    refused = client.post(f"/admin/specializations/{spec.id}/levels", data={"title": ""},
                          follow_redirects=True)
    assert refused.status_code == 422 and refused.request.path == f"/admin/specializations/{spec.id}"
    assert (
        client.post(
            f"/admin/specializations/{spec.id}/levels", data={"title": "Expert", "description": "The top"}
        ).status_code
        == 303
    )
    saved, levels = _spec(app, spec.id)
    assert saved.max_level == 2 and levels[1][:2] == (2, "Expert")
    with app.app_context():
        level_id = db.session.scalar(
            sa.select(Level.id).where(Level.specialization_id == spec.id, Level.number == 2)
        )
    assert client.post(f"/admin/levels/{level_id}", data={"title": "Master"}).status_code == 303
    assert _spec(app, spec.id)[1][1][1] == "Master"
    changes = [e.details.get("change") for e in audit_events("specialization.updated")]
    assert changes == ["level_added", "level_updated"]


def test_requirements_add_edit_reorder_remove(app, client, logged_admin, make_specialization, audit_events):
    spec = make_specialization(max_level=1, requirements_per_level=0)
    with app.app_context():
        level_id = db.session.scalar(sa.select(Level.id).where(Level.specialization_id == spec.id))
    for title in ("First aid", "Swim 200 m", "Written test"):
        assert client.post(f"/admin/levels/{level_id}/requirements", data={"title": title}).status_code == 303
    assert client.post(
        f"/admin/levels/{level_id}/requirements", data={"title": ""}, follow_redirects=True
    ).status_code == 422
    with app.app_context():
        ids = {
            r.title: r.id
            for r in db.session.scalars(sa.select(Requirement).where(Requirement.level_id == level_id))
        }
    moved = client.post(
        f"/admin/requirements/{ids['Written test']}/move", data={"direction": "up"}, follow_redirects=True
    )
    assert "“Written test” moved up: it is now 2 of 3 in level 1." in moved.get_data(as_text=True)
    stuck = client.post(
        f"/admin/requirements/{ids['First aid']}/move", data={"direction": "up"}, follow_redirects=True
    )
    assert "It cannot move further that way." in stuck.get_data(as_text=True)
    client.post(f"/admin/requirements/{ids['First aid']}", data={"title": "First aid course"})
    client.post(f"/admin/requirements/{ids['Swim 200 m']}/remove")
    assert _spec(app, spec.id)[1][0][2] == ["First aid course", "Written test"]
    changes = [e.details.get("change") for e in audit_events("specialization.updated")]
    assert changes == ["requirement_added"] * 3 + [
        "requirements_reordered",
        "requirement_updated",
        "requirement_removed",
    ]


def test_spec_with_licenses_is_archived_not_deleted(
    app, client, logged_admin, make_user, make_specialization, make_license, audit_events
):
    spec = make_specialization()
    make_license(make_user(), spec)
    client.post(f"/admin/specializations/{spec.id}/delete")
    assert _spec(app, spec.id)[0] is not None  # still there
    assert client.post(f"/admin/specializations/{spec.id}/archive").status_code == 303
    assert _spec(app, spec.id)[0].archived_at is not None
    event = audit_events("specialization.archived")[-1]
    assert event.details == {"before": {"archived": False}, "after": {"archived": True}}
    # No new licenses in an archived specialization.
    other = make_user(email="late@example.org")
    response = client.post(
        "/admin/licenses/issue", data={"email": other.email, "specialization": spec.id, "level": 1}
    )
    assert response.status_code == 422
    assert client.post(f"/admin/specializations/{spec.id}/restore").status_code == 303
    assert _spec(app, spec.id)[0].archived_at is None


def test_unused_spec_can_be_deleted(app, client, logged_admin, make_specialization, audit_events):
    spec = make_specialization()
    assert client.post(f"/admin/specializations/{spec.id}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Specialization, spec.id) is None
    assert audit_events("specialization.deleted")[-1].details["before"]["code"] == spec.code
