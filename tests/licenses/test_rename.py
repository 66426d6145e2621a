"""Renaming a specialization never invalidates a license.

The bug: the specialization's name was part of every license's signed state, so an
admin renaming "Player" made every Player license fail its integrity check and its
certificate answer 503. Now the signature covers the specialization's code, which
never changes once licenses carry it; the pages show the current name.
"""
from __future__ import annotations

import io

import pypdf

from portal.extensions import db
from portal.models.catalogue import Specialization


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def rename(app, client, spec_id: int, name: str) -> None:
    """Through the admin's specialization form, every other field as it was."""
    with app.app_context():
        spec = db.session.get(Specialization, spec_id)
        form = {"code": spec.code, "name": name, "description": spec.description,
                "max_level": str(spec.max_level), "min_age": str(spec.min_age),
                "validity_months": str(spec.validity_months or "")}
        if spec.auto_issue:
            form["auto_issue"] = "y"
    response = client.post(f"/admin/specializations/{spec_id}", data=form)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.get(Specialization, spec_id).name == name


def assert_still_valid(app, client, runner, license, name: str) -> None:
    result = runner.invoke(args=["licenses", "verify", license.code])
    assert result.exit_code == 0, result.output
    assert f"{name} level" in result.output
    doc = client.get(f"/verify/{license.code}.json").get_json()
    assert doc["valid"] is True and doc["signature_verified"] is True and doc["history_intact"] is True
    assert doc["specialization_name"] == name
    page = client.get(f"/verify/{license.code}").get_data(as_text=True)
    assert "Valid." in page and name in page
    certificate = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert certificate.status_code == 200
    assert name in pdf_text(certificate.data).replace("\n", " ")


def test_renaming_a_specialization_keeps_its_licenses_valid(app, client, runner, logged_admin,
                                                           signed_license, audit_events):
    first = signed_license(level=2)
    second = signed_license(level=1, status="suspended")
    assert_still_valid(app, client, runner, first, "Player")
    rename(app, client, first.specialization_id, "Field Player")
    assert audit_events("specialization.updated")[-1].details["changed"] == ["name"]
    assert_still_valid(app, client, runner, first, "Field Player")
    doc = client.get(f"/verify/{second.code}.json").get_json()
    assert doc["state"] == "suspended" and doc["signature_verified"] is True
    # The audit trail is intact as well (a full check, as from /audit/integrity).
    job_page = client.post("/audit/integrity/check", follow_redirects=True)
    assert job_page.status_code == 200 and "intact" in job_page.get_data(as_text=True)
