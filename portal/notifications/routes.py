from __future__ import annotations

from flask import abort, flash, make_response, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal.extensions import csrf, db
from portal.htmx import is_htmx, redirect, render_page
from portal.limits import PER_IP_ATTEMPTS, limited
from portal.models.notification import MailMode, Notification
from portal.notifications import bp, delivery, display, kinds, services
from portal.params import int_arg


@bp.get("")
def index():
    listing = services.page(current_user.id, before=int_arg("before", lo=1))
    return render_page("notifications/index.html", "notifications/_list.html", listing=listing,
                       unread=display.unread_notifications())


@bp.get("/count")
def count():
    """The header's badge, for htmx to refresh (on navigation and every minute)."""
    response = make_response(render_template("notifications/_count.html",
                                             unread=display.unread_notifications()))
    response.headers["Cache-Control"] = "no-store"
    return response


def _changed():
    """After marking: the list again (htmx, and the badge is told) or back to it."""
    if is_htmx():
        response = render_page("notifications/index.html", "notifications/_list.html",
                               listing=services.page(current_user.id),
                               unread=display.unread_notifications(fresh=True))
        response.headers["HX-Trigger"] = "notifications-changed"
        return response
    return redirect(url_for("notifications.index"))


@bp.post("/<int:notification_id>/read")
def read(notification_id: int):
    if not services.mark_read(current_user, notification_id):
        abort(404)
    db.session.commit()
    target = request.form.get("go")
    if target == "link":
        found = db.session.get(Notification, notification_id)
        link = kinds.link(found.kind, found.data)
        if link is not None:
            endpoint, values = link
            return redirect(url_for(endpoint, **values))
    return _changed()


@bp.post("/read-all")
def read_all():
    marked = services.mark_all_read(current_user)
    db.session.commit()
    if not is_htmx():
        flash(ngettext("%(num)d notification marked as read.", "%(num)d notifications marked as read.",
                       marked) if marked else _("Nothing was unread."), "success" if marked else "info")
    return _changed()


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail provider's one-click POST carries no form token; the link is the key
@limited(PER_IP_ATTEMPTS)
def unsubscribe(token: str):
    try:
        user, categories = delivery.read_unsubscribe_token(token)
    except delivery.BadLink:
        return render_template("notifications/unsubscribe_invalid.html", gone=False), 400
    except delivery.GoneAccount:
        return render_template("notifications/unsubscribe_invalid.html", gone=True), 404
    labels = [kinds.CATEGORY_LABELS[c] for c in categories]
    if request.method == "POST":
        services.unsubscribe(user, categories)
        db.session.commit()
        return render_template("notifications/unsubscribed.html", labels=labels)
    return render_template("notifications/unsubscribe.html", labels=labels, token=token,
                           already=all(services.mode_for(user.id, c) == MailMode.OFF for c in categories))
