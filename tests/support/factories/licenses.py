"""Specializations, licenses (signed, in any state) and upgrade requests.

Licenses are issued and changed through the real license services, so they carry
a real history chain and signature.
"""

from __future__ import annotations

import itertools
import string
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from flask import current_app

from portal import signing
from portal.db import utcnow
from portal.extensions import db
from portal.hashchain import canonical_json
from portal.licenses import chain, reviews, services, state
from portal.models.catalogue import Level, Requirement, Specialization
from portal.models.license import License, UpgradeRequest
from portal.models.user import Role, User
from tests.support.factories.users import detach

_counter = itertools.count(1)


def _spec_code(n: int) -> str:
    letters = string.ascii_uppercase
    return "Z" + letters[(n // 26) % 26] + letters[n % 26]


@pytest.fixture
def make_specialization(app):
    def make(
        code: str | None = None,
        name: str | None = None,
        *,
        max_level: int = 3,
        min_age: int = 0,
        validity_months: int | None = 24,
        auto_issue: bool = True,
        requirements_per_level: int = 2,
    ) -> Specialization:
        n = next(_counter)
        code = code or _spec_code(n)
        with app.app_context():
            spec = Specialization(
                code=code,
                name=name or f"Specialization {code}",
                description="",
                max_level=max_level,
                min_age=min_age,
                validity_months=validity_months,
                auto_issue=auto_issue,
            )
            for number in range(1, max_level + 1):
                level = Level(number=number, title=f"Level {number}")
                level.requirements = [
                    Requirement(position=i, title=f"{code} L{number} requirement {i + 1}")
                    for i in range(requirements_per_level)
                ]
                spec.levels.append(level)
            db.session.add(spec)
            db.session.commit()
            return detach(spec)

    return make


@pytest.fixture
def make_license(app):
    """Issue a license through the real service (history row, signature, audit)."""

    def make(holder, spec, level: int = 1, *, actor=None, status: str | None = None) -> License:
        with app.app_context():
            holder_obj = db.session.get(User, holder.id)
            spec_obj = db.session.get(Specialization, spec.id)
            actor_obj = db.session.get(User, actor.id) if actor is not None else None
            license = services.issue_license(holder_obj, spec_obj, level, actor_obj)
            if status == "suspended":
                services.suspend(license, actor_obj, "Test suspension")
            elif status == "revoked":
                services.revoke(license, actor_obj, "other", "Test revocation")
            elif status == "expired":
                # As if issued long ago: the expiry run records the change and re-signs.
                license.expires_at = utcnow() - timedelta(days=1)
                db.session.flush()
                services.expire_due()
            db.session.commit()
            return detach(license)

    return make


@pytest.fixture
def make_request(app):
    """A pending upgrade request for a license (through the real service)."""

    def make(license, reason: str = "I have met every requirement.") -> UpgradeRequest:
        with app.app_context():
            license_obj = db.session.get(License, license.id)
            holder = db.session.get(User, license_obj.holder_id)
            request = reviews.request_upgrade(license_obj, reason, holder)
            db.session.commit()
            return detach(request)

    return make


def change(license: License, kind: str, **values) -> None:
    """Change fields of a license as the services do: a history row and a new signature."""
    for name, value in values.items():
        setattr(license, name, value)
    chain.append(license, kind, None)
    state.sign_license(license)


def bare_signature(payload: bytes) -> tuple[str, str]:
    """(key id, signature) of the current key over ``payload`` itself, with no signing
    context: how every signature was made before contexts. In an app context."""
    kid = signing.current_key_id()
    pem = Path(current_app.config["SIGNING_KEY_DIR"], f"{kid}.pem").read_bytes()
    private = serialization.load_pem_private_key(pem, None)
    return kid, signing.b64url(private.sign(payload))


def sign_the_old_way(license: License) -> None:
    """Re-sign ``license`` as Portal did before signing contexts (signature version 1):
    the current key's Ed25519 signature over the bare canonical JSON of the version-1
    fields, the specialization's current name among them; recorded as the migration
    records such licenses. Inside an app context; the caller commits."""
    fields = state.public_fields(license)
    license.key_id, license.signature = bare_signature(
        canonical_json({name: fields[name] for name in state.FIELDS[1]})
    )
    license.signature_version = 1
    license.signed_specialization_name = license.specialization.name


@pytest.fixture
def legacy_license(app, signed_license):
    """Like ``signed_license``, but signed the way Portal signed before signing contexts."""

    def make(**kwargs) -> License:
        made = signed_license(**kwargs)
        with app.app_context():
            license = db.session.get(License, made.id)
            sign_the_old_way(license)
            db.session.commit()
            return detach(license)

    return make


@pytest.fixture
def signed_license(app, make_user, make_specialization, make_license):
    """A holder, a Player specialization (made once per test) and a signed license.

    ``status`` is active, suspended, revoked or expired; ``expires_at`` moves the
    expiry date (recorded in the history and re-signed). Returns the license detached.
    """
    specs = {}

    def make(*, holder=None, holder_name: str | None = None, level: int = 1, status: str | None = None,
             expires_at: datetime | None = None, validity_months: int | None = None,
             spec_code: str = "PLY") -> License:
        key = (spec_code, validity_months)
        if key not in specs:
            specs[key] = make_specialization(
                spec_code if not specs else None,
                "Player" if not specs else None,
                max_level=8,
                validity_months=validity_months,
            )
        holder = holder or make_user(Role.STUDENT, name=holder_name)
        license = make_license(holder, specs[key], level, status=status)
        if expires_at is not None:
            with app.app_context():
                attached = db.session.get(License, license.id)
                change(attached, "renewed", expires_at=expires_at)
                db.session.commit()
                db.session.refresh(attached)
                db.session.expunge(attached)
                license = attached
        return license

    return make
