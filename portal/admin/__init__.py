"""Administration (admins only, guarded once here)."""
from __future__ import annotations

from flask import Blueprint

from portal.permissions import Role, blueprint_guard

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(blueprint_guard(Role.ADMIN))

# The route modules add their views to ``bp``, so they are imported once it exists.
from portal.admin import achievements, catalogue, forms, hub, jobs, licenses, users  # noqa: E402,F401


class Words(dict):
    """Stored values -> the words shown for them; a value without a word is shown as it is."""

    def __missing__(self, key):
        return key

    def now(self) -> Words:
        """These words in the reader's language, each translated once (for a list's rows)."""
        return Words({key: str(word) for key, word in self.items()})


_named: dict[str, Words] = {}


@bp.app_context_processor
def stored_words() -> dict:
    """The words the admin templates show for stored values, in the reader's language
    (``named.role[user.role]``); app-wide, as the admin dashboard includes the jobs table.
    Built once: the words are lazy, translated when a page shows them."""
    if not _named:
        from portal.licenses.services import REVOKE_REASONS  # noqa: PLC0415

        _named.update({
            "role": Words(forms.ROLE_NAMES),
            "user_status": Words(forms.USER_STATUS_NAMES),
            "license_status": Words(forms.LICENSE_STATUS_NAMES),
            "job_status": Words(forms.JOB_STATUS_NAMES),
            "history": Words(forms.HISTORY_KIND_NAMES),
            "revoke_reason": Words(REVOKE_REASONS),
        })
    return {"named": _named}
