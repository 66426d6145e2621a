"""Account services: plain functions, the acting user explicit, no commits."""
from __future__ import annotations

import sqlalchemy as sa

from portal.audit import actions
from portal.audit.services import record
from portal.auth import sessions
from portal.auth.passwords import hash_password, verify_password
from portal.extensions import db
from portal.models.audit import Outcome
from portal.models.user import Role, User, UserSession, UserStatus


class AuthError(Exception):
    """A refused login or account change; the message is safe to show."""


GENERIC_LOGIN_ERROR = "E-mail or password is not correct."


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str,
    name: str,
    role: str = Role.STUDENT,
    *,
    password: str | None = None,
    actor: User | None = None,
    status: str = UserStatus.ACTIVE,
    date_of_birth=None,
    action: str = actions.USER_CREATED,
) -> User:
    """Create an account. Raises AuthError when the e-mail is taken."""
    if role not in Role.ALL:
        raise AuthError(f"Unknown role {role!r}.")
    if find_user_by_email(email) is not None:
        raise AuthError("An account with this e-mail already exists.")
    user = User(
        email=normalise_email(email),
        name=name.strip(),
        role=role,
        status=status,
        date_of_birth=date_of_birth,
        password_hash=hash_password(password) if password else None,
    )
    db.session.add(user)
    db.session.flush()
    record(actor or user, action, user, role=role, email=user.email)
    return user


def login(email: str, password: str, *, remember: bool, ip: str | None, user_agent: str | None) -> User:
    """Check the credentials and open a session. Raises AuthError with one generic message."""
    user = find_user_by_email(email)
    if user is None or not verify_password(user.password_hash, password):
        record(user, actions.LOGIN_FAILED, user, outcome=Outcome.FAILURE,
               reason="unknown_email" if user is None else "wrong_password")
        raise AuthError(GENERIC_LOGIN_ERROR)
    if user.status != UserStatus.ACTIVE:
        record(user, actions.LOGIN_FAILED, user, outcome=Outcome.FAILURE, reason=f"status_{user.status}")
        raise AuthError(GENERIC_LOGIN_ERROR)
    session_record = sessions.start_session(user, remember=remember, ip=ip, user_agent=user_agent)
    db.session.flush()
    record(user, actions.LOGIN, user, session_id=session_record.id, remember=remember)
    return user


def logout(user: User, session_record: UserSession | None) -> None:
    if session_record is not None:
        sessions.revoke(session_record, "logout")
    record(user, actions.LOGOUT, user)


def validate_new_password(password: str, *, email: str = "", name: str = "") -> None:
    """Raise AuthError with the first policy problem of a new password."""
    from portal.auth import policy

    found = policy.problems(password, email=email, name=name)
    if found:
        raise AuthError(found[0])
