from __future__ import annotations

import logging

import sqlalchemy as sa
from babel.lists import format_list
from flask import current_app, jsonify, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from portal import dates, signing
from portal.audit import checkpoints
from portal.dates import calendar_date
from portal.db import utcnow
from portal.extensions import db, limiter
from portal.licenses import answers, codes, qr, state, verification
from portal.models.catalogue import Specialization
from portal.public import bp
from portal.public.forms import VerifyForm
from portal.templating import local_date
from portal.transparency import checkpoints as transparency_checkpoints

log = logging.getLogger(__name__)


@bp.get("/")
def landing():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    try:
        specializations = db.session.scalars(
            sa.select(Specialization).where(Specialization.archived_at.is_(None)).order_by(Specialization.id)
        ).all()
    except SQLAlchemyError as exc:  # the front door stays open while the database is away
        db.session.rollback()
        log.warning("landing page without the specializations: %s", exc.__class__.__name__)
        specializations = []
    verify_url = f"{current_app.config['PORTAL_BASE_URL']}/verify"
    # "Player, Coach or Internship", as the reader's language lists alternatives.
    offered = format_list([s.local_name for s in specializations], style="or", locale=get_locale())
    return render_template("public/landing.html", specializations=specializations, offered=offered,
                           today=utcnow().date(),
                           sample_qr=qr.url_svg_inline(verify_url,
                                                       title=_("QR code: %(url)s", url=verify_url)))


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.select(1))
        db.session.rollback()
    except Exception as exc:
        db.session.rollback()
        log.warning("health check: database unreachable: %s", exc.__class__.__name__)
        response = jsonify({"status": "error", "database": "unreachable"})
        response.status_code = 503
        response.headers["Cache-Control"] = "no-store"
        return response
    response = jsonify({"status": "ok", "database": "ok"})
    response.headers["Cache-Control"] = "no-store"
    return response


# --- public verification -------------------------------------------------------

def _verify_limit() -> str:
    return current_app.config["RATELIMIT_VERIFY"]


# The page and the JSON share one budget per client IP.
verify_limit = limiter.shared_limit(_verify_limit, scope="verify")


@bp.get("/verify")
def verify_form():
    form = VerifyForm(formdata=request.args)
    if "code" not in request.args:
        return render_template("public/verify_form.html", form=form)
    if not form.validate():
        return render_template("public/verify_form.html", form=form), 422
    return redirect(url_for("public.verify", code=codes.normalise(form.code.data)), code=303)


def _presented() -> tuple[str | None, str | None]:
    return request.args.get("sig") or None, request.args.get("kid") or None


@bp.get("/verify/<code>.json")
@verify_limit
def verify_json(code: str):
    def build(result):
        body = result.as_json()
        if result.found:
            # Keys and values stay as software reads them; the message is for a person, in the
            # visitor's language. (An unknown code's answer is exactly SPEC's two keys.)
            body["message"] = verdict(result)
            body["transparency"] = transparency_checkpoints.entry_for(result.license.id)
        return jsonify(body)

    return _answer("json", code, build)


@bp.get("/verify/<code>")
@verify_limit
def verify(code: str):
    def build(result):
        log_entry = transparency_checkpoints.entry_for(result.license.id) if result.found else None
        return make_response(
            render_template("public/verification.html", result=result, typed=code,
                            form=_form_for(code, result), log_entry=log_entry),
        )

    return _answer("page", code, build)


def _answer(kind: str, code: str, build):
    """The answer about ``code``: from this process's cache when the database still holds
    the license as it was when the answer was made (``portal.licenses.answers``), else
    checked in full. Every request counts a check by someone else."""
    # The layout is the viewer's own when they are signed in or have a message waiting.
    personal = current_user.is_authenticated or "_flashes" in session
    normal = codes.normalise(code)
    version = answers.lookup(normal) if normal else None
    if version is None:  # unknown, or mistyped: nothing to cache or count
        result = verification.verify(code, *_presented())
        response = build(result)
        response.status_code = 404
        _cache_headers(response, result, personal=personal)
        return response
    _count(version)
    if personal:
        result = verification.verify(code, *_presented())
        response = build(result)
        _cache_headers(response, result, personal=True)
        response.add_etag()
        return response.make_conditional(request)
    cache_key = answers.key(kind, request.full_path, version, str(get_locale()), dates.zone_name())
    answer = answers.get(cache_key)
    if answer is None:
        result = verification.verify(code, *_presented())
        response = build(result)
        _cache_headers(response, result, personal=False)
        answer = answers.put(cache_key, version, response.get_data(), response.status_code,
                             response.headers["Cache-Control"])
    response = current_app.response_class(answer.body, status=answer.status_code,
                                          mimetype="application/json" if kind == "json" else "text/html")
    response.headers["Cache-Control"] = answer.cache_control
    response.vary.update(("Accept-Language", "Cookie"))
    response.set_etag(answer.etag)
    return response.make_conditional(request)  # 304 when the visitor holds this very answer


def _count(version) -> None:
    """A check by someone else counts toward the holder's achievements (once per checker)."""
    if verification.count_check(version, current_user, request.remote_addr, current_app.config["SECRET_KEY"]):
        db.session.commit()


def verdict(result) -> str:
    """What the verification of a license found, in a sentence or two of the reader's
    language (the JSON's ``message``; the page says the same at more length)."""
    lic = result.license
    state = result.state
    if state == verification.State.VALID:
        detail = (_("This license is genuine and active until %(date)s.", date=calendar_date(lic.expires_at))
                  if lic.expires_at else _("This license is genuine and active."))
        return f"{_('Valid.')} {detail}"
    if state == verification.State.EXPIRING_SOON:
        return "{} {}".format(_("Valid, expiring soon."), ngettext(
            "This license is genuine and active, but expires on %(date)s (%(num)d day left).",
            "This license is genuine and active, but expires on %(date)s (%(num)d days left).",
            result.days_left, date=calendar_date(lic.expires_at)))
    if state == verification.State.EXPIRED:
        return "{} {}".format(_("Not valid: expired."), _(
            "The license expired on %(date)s. It is genuine but no longer in force.",
            date=calendar_date(result.since)))
    if state == verification.State.SUSPENDED:
        detail = (_("The academy has suspended this license for now, since %(date)s.",
                    date=local_date(result.since))
                  if result.since else _("The academy has suspended this license for now."))
        return f"{_('Not valid: suspended.')} {detail}"
    if state == verification.State.REVOKED:
        detail = (_("The academy revoked this license on %(date)s.", date=local_date(result.since))
                  if result.since else _("The academy revoked this license."))
        if result.reason_label:
            detail = f"{detail} {_('Reason: %(reason)s.', reason=result.reason_label)}"
        return f"{_('Not valid: revoked.')} {detail}"
    return "{} {}".format(_("Not valid: failed its integrity check."), _(
        "The academy's record of this license does not match its signature or history, so it "
        "cannot be vouched for. Please contact the academy."))


def _form_for(code: str, result) -> VerifyForm:
    form = VerifyForm(formdata=None, code=code)
    if result.typo:
        form.code.errors = [_("The check character does not match: the code has a typing mistake.")]
    return form


def _cache_headers(response, result, *, personal: bool) -> None:
    """A valid license's answer may be cached briefly; anything else must be re-checked.
    The answer is in the visitor's language, so a cache keeps one per language."""
    response.vary.update(("Accept-Language", "Cookie"))
    if result.valid and not personal:
        response.headers["Cache-Control"] = "public, max-age=60"
    elif not personal:
        response.headers["Cache-Control"] = "no-cache"


@bp.get("/keys")
def keys_page():
    """The signing keys explained for people; the machine-readable list stays in the JSON."""
    keys = sorted(signing.public_keys(), key=lambda k: k.get("created_at") or "", reverse=True)
    return render_template("public/keys.html", keys=keys, algorithm=signing.ALGORITHM,
                           checkpoint_key=transparency_checkpoints.published())


@bp.get("/.well-known/portal-keys.json")
def portal_keys():
    response = jsonify(
        {
            "algorithm": signing.ALGORITHM,
            "keys": signing.public_keys(),
            "payload": verification.PAYLOAD_DESCRIPTION,
            "signed_fields": list(state.SIGNED_FIELD_NAMES),
            "license_signatures": verification.signature_forms(),
            "checkpoint_signatures": checkpoints.signature_forms(),
            "transparency_checkpoint_keys": [transparency_checkpoints.published()],
            "encoding": "public_key and signature are base64url without padding",
        }
    )
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
