"""`flask licenses expire`: marks due licenses, idempotently."""
from __future__ import annotations

from datetime import timedelta

from portal.audit import actions
from portal.db import utcnow
from portal.extensions import db
from portal.licenses import chain, state
from portal.models import License, LicenseStatus
from tests.support.lookups import get


def test_expire_command_is_idempotent(app, runner, make_user, make_specialization, make_license,
                                      audit_events):
    spec = make_specialization(validity_months=12)
    due, fresh = make_license(make_user(), spec), make_license(make_user(), spec)
    with app.app_context():
        get(License, due).expires_at = utcnow() - timedelta(hours=1)
        db.session.commit()
    first = runner.invoke(args=["licenses", "expire"])
    assert first.exit_code == 0 and "1 license marked expired" in first.output
    second = runner.invoke(args=["licenses", "expire"])
    assert second.exit_code == 0 and "0 licenses marked expired" in second.output
    with app.app_context():
        license = get(License, due)
        assert license.status == LicenseStatus.EXPIRED
        assert chain.verify_history(license).ok and state.check(license)
        assert get(License, fresh).status == LicenseStatus.ACTIVE
        expired = audit_events(actions.LICENSE_EXPIRED)
        assert len(expired) == 1 and expired[0].actor_id is None
