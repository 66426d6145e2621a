"""My passkeys: ``GET /account/passkeys`` lists them with a form to add one (the ceremony
itself is JSON under /auth/passkeys, driven by static/js/passkeys.js), and each can be
renamed or removed here with a plain form."""
from __future__ import annotations

from flask import flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.account import bp
from portal.account.forms import PasskeyNameForm
from portal.auth import passkeys
from portal.exceptions import commit_or_show, form_status
from portal.htmx import redirect, render_page
from portal.permissions import not_yours


def _page(status: int = 200, rename_form=None, rename_id=None):
    return render_page(
        "account/passkeys.html", "account/_passkeys.html", status=status,
        passkeys=passkeys.user_passkeys(current_user), add_form=PasskeyNameForm(formdata=None),
        rename_form=rename_form, rename_id=rename_id, rp=passkeys.relying_party(),
    )


@bp.get("/passkeys", endpoint="passkeys")
def passkeys_page():
    return _page()


@bp.post("/passkeys/<int:passkey_id>/rename")
def rename_passkey(passkey_id: int):
    if not any(p.id == passkey_id for p in passkeys.user_passkeys(current_user)):
        not_yours()
    form = PasskeyNameForm()
    if form.validate_on_submit() and (done := commit_or_show(
            form, passkeys.rename, current_user, passkey_id, form.name.data, actor=current_user)):
        flash(_("The passkey is renamed.") if done.value else _("Nothing changed."),
              "success" if done.value else "info")
        return redirect(url_for("account.passkeys"))
    return _page(form_status(form), rename_form=form, rename_id=passkey_id)


@bp.post("/passkeys/<int:passkey_id>/remove")
def remove_passkey(passkey_id: int):
    if done := commit_or_show(None, passkeys.remove, current_user, passkey_id, actor=current_user):
        passkeys.send_notice(current_user, done.value, added=False)
        flash(_("The passkey “%(name)s” is removed. It can no longer log in to your account.",
                name=done.value), "success")
    return redirect(url_for("account.passkeys"))
