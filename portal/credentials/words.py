"""A verification's verdict in plain words, in the reader's language."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from portal.credentials import verifying as V
from portal.templating import local_date


def verdict_text(verdict: V.Verdict) -> str:
    when = local_date(verdict.since) if verdict.since else None
    academy = current_app.config["PORTAL_ACADEMY_NAME"]
    code = verdict.code
    if code == V.VALID:
        until = V._parse_time((verdict.credential or {}).get("validUntil"))
        if until is not None:
            return _("Valid. Issued by %(academy)s, in force until %(date)s.", academy=academy,
                     date=local_date(until))
        return _("Valid. Issued by %(academy)s and in force.", academy=academy)
    if code == V.REVOKED:
        return (_("Not valid: revoked on %(date)s.", date=when) if when else _("Not valid: revoked."))
    if code == V.SUPERSEDED:
        return _("Not valid: replaced on %(date)s by a newer credential (a level change or a renewal). "
                 "Ask the holder for the current one.", date=when)
    if code == V.SUSPENDED:
        return _("Not valid: suspended. The academy has suspended this license for now.")
    if code == V.EXPIRED:
        return _("Not valid: expired on %(date)s.", date=when)
    if code == V.NOT_YET_VALID:
        return (_("Not valid yet: valid from %(date)s.", date=when) if when
                else _("Not valid: the credential says nothing about when it is valid from."))
    if code == V.FOREIGN:
        return _("Not issued by this academy. Check it with the issuer it names.")
    if code == V.ALTERED:
        return _("Not valid: altered. The signature does not match the credential's content.")
    if code == V.UNKNOWN_KEY:
        return _("Not valid: signed with a key this academy never published (unknown key id).")
    if code == V.CONTEXT_REFUSED:
        return _("Refused: the credential uses a JSON-LD context this academy does not accept.")
    if code == V.TOO_LARGE:
        return _("Refused: the credential is larger than 64 KB.")
    if code == V.STATUS_UNKNOWN:
        return _("Its status could not be checked: the status lists given do not fit this credential.")
    return _("This is not a credential: paste the JSON or the JWT exactly as you received it.")
