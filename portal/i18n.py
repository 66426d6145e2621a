"""Languages: which one a reader gets, and the footer links that choose it.

The order (SPEC §12): a logged-in user's own ``locale``; otherwise the ``portal_lang``
cookie that the footer's ``?lang=`` links set; then the browser's ``Accept-Language``;
then English. Nothing a visitor sends can make this fail: an unknown code, a malformed
header or a cookie from elsewhere falls back quietly to the next rule.

The catalogs live in ``portal/translations/<code>/LC_MESSAGES/messages.po``;
``make translations`` extracts, updates and compiles them, and the set-up compiles them
(the ``.mo`` files are built, not committed). README "Adding a language" says how to add one.
"""
from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, Response, current_app, g, has_app_context, has_request_context, request
from flask_babel import Babel, Domain
from flask_login import current_user

from portal.extensions import db

# The languages Portal speaks, each named in itself (as the footer lists them).
LANGUAGES = {"en": "English", "es": "Español", "hu": "Magyar"}
DEFAULT = "en"
COOKIE = "portal_lang"
COOKIE_MAX_AGE = 60 * 60 * 24 * 365

babel = Babel()


def supported() -> dict[str, str]:
    """The languages this app offers: ``LANGUAGES`` plus, in the test suite, the
    pseudo-locale that finds text nobody marked for translation."""
    return current_app.config.get("PORTAL_LANGUAGES") or LANGUAGES


def known(code: str | None) -> str | None:
    """``code`` if Portal speaks it, else None."""
    return code if code in supported() else None


def chosen_in_request() -> str | None:
    """The language the footer link of this request asks for (``?lang=es``), if known."""
    if not has_request_context():
        return None
    return known(request.args.get("lang"))


def select_locale() -> str:
    if not has_request_context():
        return DEFAULT
    asked = chosen_in_request()
    if asked:
        return asked
    if current_user and current_user.is_authenticated:
        own = known(getattr(current_user, "locale", None))
        if own:
            return own
    cookie = known(request.cookies.get(COOKIE))
    if cookie:
        return cookie
    # werkzeug parses the header leniently: a malformed one is an empty preference list.
    return request.accept_languages.best_match(list(supported())) or DEFAULT


def apply_choice() -> None:
    """A logged-in reader who picks a language in the footer keeps it: it becomes their
    account's (audited), as choosing it on the account page would."""
    asked = chosen_in_request()
    if not asked or request.method != "GET" or not current_user.is_authenticated:
        return
    if current_user.locale == asked:
        return
    from portal.audit import actions  # noqa: PLC0415  (audit's sentences import LANGUAGES)
    from portal.audit.services import record  # noqa: PLC0415
    before = current_user.locale
    current_user.locale = asked
    record(current_user, actions.USER_LANGUAGE_CHANGED, current_user, locale=asked,
           before=before, via="footer")
    db.session.commit()


def remember_choice(response: Response) -> Response:
    """A footer link (``?lang=es``) sets the cookie, and a logged-in reader's own
    language (``User.locale``), so the choice holds on every later page and login."""
    asked = chosen_in_request()
    if asked and request.method == "GET":
        response.set_cookie(COOKIE, asked, max_age=COOKIE_MAX_AGE, samesite="Lax",
                            secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
                            httponly=True)
        g.portal_lang_set = asked
    return response


def adopt_visitor_choice(user) -> None:
    """At login: the language a visitor picked in the footer before logging in becomes
    the account's (the choice survives login); with no such choice the account keeps its
    own. The caller commits."""
    picked = known(request.cookies.get(COOKIE)) if has_request_context() else None
    if picked and picked != user.locale:
        user.locale = picked


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone,
                   default_translation_directories="translations")
    # A page calls gettext some fifty times; each call finds the request's catalog once
    # (Flask-Babel's own callables look up the domain, the locale and the cache each time).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    # {% trans %} blocks collapse their whitespace, as babel.cfg extracts them.
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.before_request(apply_choice)
    app.after_request(remember_choice)
    app.jinja_env.globals["language_url"] = language_url

    @app.context_processor
    def languages() -> dict:
        return {"languages": supported(), "current_language": select_locale()}


class _RequestDomain(Domain):
    """Flask-Babel's message domain, keeping the request's catalog beside the locale it
    was found for: Python code's ``gettext`` and every lazy string ask for it once per
    string (Flask-Babel looks up the locale and its cache each time); a changed or
    refreshed locale (``force_locale``) finds its own catalog again."""

    def get_translations(self):
        ctx = g.get("_flask_babel") if has_app_context() else None
        if ctx is not None:
            kept = getattr(ctx, "portal_translations", None)
            if kept is not None and kept[0] is getattr(ctx, "babel_locale", None) is not None:
                return kept[1]
        translations = super().get_translations()
        ctx = g.get("_flask_babel") if has_app_context() else None
        if ctx is not None:
            ctx.portal_translations = (getattr(ctx, "babel_locale", None), translations)
        return translations


# Flask-Babel builds its domain once (a cached property of the extension); this one instead.
babel.__dict__["domain_instance"] = _RequestDomain(domain="messages")


def page_translations():
    """Flask-Babel's catalog for this request (``get_translations()``), found once per
    request and locale."""
    return babel.domain_instance.get_translations()


def select_timezone() -> str:
    """A logged-in reader's own zone; for a visitor (and a stored zone this system does not
    know) the academy's ``PORTAL_TIMEZONE``."""
    from portal.dates import zone_name  # noqa: PLC0415  (dates imports this module's babel)
    return zone_name()


def language_url(code: str) -> str:
    """This page in language ``code``: its path and query, with ``lang`` set."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    return request.path + "?" + urlencode([*args, ("lang", code)])
