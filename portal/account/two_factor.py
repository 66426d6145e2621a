"""/account/two-factor: turn two-factor sign-in on and off, and recovery codes (SPEC §9)."""

from __future__ import annotations

import segno
from flask import Response, abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal.account import bp
from portal.account.forms import TotpConfirmForm, TwoFactorDisableForm
from portal.auth import second_factor, two_factor
from portal.auth.two_factor_mail import send_change_notice
from portal.exceptions import form_status, show_error
from portal.extensions import db
from portal.htmx import redirect, render_page

PAGE = "account/two_factor.html"


def _page(status: int = 200, **context):
    user = current_user
    context.setdefault("confirm_form", TotpConfirmForm(formdata=None))
    context.setdefault("disable_form", TwoFactorDisableForm(formdata=None))
    secret = context.get("secret")
    if secret is not None:
        qr = segno.make(two_factor.provisioning_uri(user, secret), error="m")
        context["qr_svg"] = Markup(qr.svg_inline(scale=5, title=_("QR code for your authenticator app")))
    return render_page(
        PAGE, PAGE, status=status, enabled=two_factor.has_totp(user),
        required=second_factor.required_for(user),
        codes_left=two_factor.recovery_codes_left(user) if two_factor.has_totp(user) else 0,
        **context)


@bp.get("/two-factor", endpoint="two_factor")
def two_factor_page():
    return _page()


@bp.post("/two-factor/totp")
def totp_start():
    """A new secret to scan; two-factor sign-in turns on only after a right code."""
    if two_factor.has_totp(current_user):
        flash(_("Two-factor sign-in is already on."), "info")
        return redirect(url_for("account.two_factor"))
    secret = two_factor.start_enrolment(current_user)
    db.session.commit()
    return _page(secret=secret)


@bp.post("/two-factor/totp/confirm")
def totp_confirm():
    form = TotpConfirmForm()
    if two_factor.has_totp(current_user):
        flash(_("Two-factor sign-in is already on."), "info")
        return redirect(url_for("account.two_factor"))
    if form.validate_on_submit():
        try:
            codes = two_factor.confirm_enrolment(current_user, form.code.data)
        except two_factor.AuthError as exc:
            db.session.commit()  # the wrong code is audited
            show_error(form, exc)
        else:
            db.session.commit()
            second_factor.mark_fresh("totp")
            send_change_notice(current_user, "enabled")
            flash(_("Two-factor sign-in is on. Save your recovery codes now: they are shown only once."),
                  "success")
            return _page(codes=codes)
    secret = two_factor.pending_secret(current_user)
    if secret is None:
        return redirect(url_for("account.two_factor"))
    return _page(form_status(form), secret=secret, confirm_form=form)


@bp.post("/two-factor/recovery-codes")
@second_factor.require_fresh_second_factor
def recovery_codes():
    """A new set of ten recovery codes; the old ones stop working."""
    codes = two_factor.new_recovery_codes(current_user) if two_factor.has_totp(current_user) else None
    if codes is None:
        abort(409)
    db.session.commit()
    send_change_notice(current_user, "codes_regenerated")
    flash(_("Here are your new recovery codes; the old ones no longer work."), "success")
    return _page(codes=codes)


@bp.post("/two-factor/recovery-codes/download")
def recovery_codes_download():
    """The codes on the page as a text file (the page posts them back: they are not kept)."""
    codes = [c.strip() for c in request.form.getlist("codes")][: two_factor.RECOVERY_CODES]
    if not two_factor.are_current_codes(current_user, codes):
        abort(400)
    lines = [_("Recovery codes for %(email)s", email=current_user.email),
             _("Each code works once. Keep them somewhere safe."), ""] + codes
    return Response("\n".join(lines) + "\n", mimetype="text/plain", headers={
        "Content-Disposition": 'attachment; filename="portal-recovery-codes.txt"',
        "Cache-Control": "no-store"})


@bp.post("/two-factor/disable")
def two_factor_disable():
    form = TwoFactorDisableForm()
    if form.validate_on_submit():
        try:
            two_factor.disable(current_user, form.current_password.data, form.code.data,
                               required=second_factor.required_for(current_user))
        except two_factor.AuthError as exc:
            db.session.commit()  # the refusal is audited
            show_error(form, exc)
        else:
            db.session.commit()
            send_change_notice(current_user, "disabled")
            flash(_("Two-factor sign-in is off."), "success")
            return redirect(url_for("account.two_factor"))
    return _page(form_status(form), disable_form=form)

