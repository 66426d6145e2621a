"""What templates use to show notifications (template globals, registered by the app)."""
from __future__ import annotations

from flask import Flask, g, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.models.notification import Notification
from portal.notifications import kinds, services

MAIL_STATES = {
    "none": _l("not e-mailed"),
    "waiting": _l("in the next daily summary"),
    "pending": _l("e-mail pending"),
    "sent": _l("e-mailed"),
    "dropped": _l("not e-mailed"),
}


def notification_link(n: Notification) -> str | None:
    target = kinds.link(n.kind, n.data)
    if target is None:
        return None
    endpoint, values = target
    return url_for(endpoint, **values)


def notification_title(n: Notification) -> str:
    return kinds.title(n.kind, n.data)


def notification_body(n: Notification) -> str | None:
    return kinds.body(n.kind, n.data)


def mail_state_label(n: Notification) -> str:
    return str(MAIL_STATES.get(n.mail_state, n.mail_state))


def unread_notifications(fresh: bool = False) -> int:
    """The header's count: one indexed query, asked once per request (``fresh`` after
    this request marked some read)."""
    if not current_user.is_authenticated:
        return 0
    if fresh or "notifications_unread" not in g:
        g.notifications_unread = services.unread_count(current_user.id)
    return g.notifications_unread


def latest_notifications(limit: int = 3) -> list[Notification]:
    return services.latest(current_user.id, limit) if current_user.is_authenticated else []


def register(app: Flask) -> None:
    for fn in (notification_link, notification_title, notification_body, mail_state_label,
               unread_notifications, latest_notifications):
        app.jinja_env.globals[fn.__name__] = fn
    app.jinja_env.globals["recent_notifications_of"] = services.latest
