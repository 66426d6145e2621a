"""The audit trail's pages. Read-only: no route edits or deletes an event."""
from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from portal import dates, jobs
from portal.audit import bp, chain, export, integrity, queries
from portal.audit.describe import PageWords, device, word
from portal.audit.forms import AuditFilterForm
from portal.audit.queries import AuditFilter, FilterError
from portal.db import begin_write, utcnow
from portal.extensions import db
from portal.htmx import redirect, render_page
from portal.models.audit import AuditEvent
from portal.models.catalogue import Specialization
from portal.models.job import Job
from portal.models.klass import Klass
from portal.models.license import License
from portal.models.user import User
from portal.params import filter_args, int_arg
from portal.templating import user_zone


def _cursor_arg(name: str) -> int | None:
    return int_arg(name)


def _filter_args(form: AuditFilterForm) -> MultiDict:
    """The filter part of the query string (the form's fields only), to build links with."""
    return filter_args(field.name for field in form)


def _filter_form() -> tuple[AuditFilterForm, AuditFilter | None, list | None]:
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return form, None, None
    flt = form.to_filter(user_zone())
    try:
        return form, flt, queries.conditions(flt)
    except FilterError as exc:
        getattr(form, exc.field).errors = [str(exc)]
        return form, None, None


@bp.get("/")
def index():
    form, flt, where = _filter_form()
    page = None
    if where is not None:
        page = queries.page(where, before=_cursor_arg("before"), after=_cursor_arg("after"),
                            columns=queries.LIST_COLUMNS)
    return render_page(
        "audit/index.html", "audit/_results.html", status=200 if page else 422,
        form=form, results=page, args=_filter_args(form), endpoint="audit.index", zone=user_zone(),
        when=dates.instants(seconds=True), words=PageWords(),
        # Translated once, filled in for each row (as the template's own _() fills it in).
        event_details=Markup(_("Event %(seq)s details")),
    )


@bp.get("/export.csv")
def export_csv():
    form, flt, where = _filter_form()
    if where is None:
        return render_page("audit/index.html", "audit/_results.html", status=422,
                           form=form, results=None, args=_filter_args(form), endpoint="audit.index",
                           zone=user_zone())
    # Record the export first (a GET that writes), then stream outside the write lock.
    begin_write(db.session)
    export.record_export(current_user, flt)
    db.session.commit()
    g.pop("portal_write_intent", None)
    filename = f"audit-{utcnow():%Y%m%d-%H%M%S}.csv"
    response = Response(stream_with_context(export.rows(where)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _resource_name(resource_type: str | None, resource_id: str | None) -> str | None:
    """A readable name for a resource, when it still exists."""
    if not resource_type or not resource_id or not resource_id.isdigit():
        return None
    model, attr = {
        "user": (User, "email"),
        "license": (License, "code"),
        "class": (Klass, "name"),
        "specialization": (Specialization, "name"),
        "job": (Job, "kind"),
    }.get(resource_type, (None, None))
    if model is None:
        return None
    return db.session.scalar(sa.select(getattr(model, attr)).where(model.id == int(resource_id)))


@bp.get("/events/<int:event_id>")
def event(event_id: int):
    ev = db.get_or_404(AuditEvent, event_id)
    neighbours = {
        "previous": db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.seq == ev.seq - 1)),
        "next": db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.seq == ev.seq + 1)),
    }
    actor = db.session.get(User, ev.actor_id) if ev.actor_id else None
    return render_template(
        "audit/event.html", ev=ev, actor=actor, neighbours=neighbours,
        resource_name=_resource_name(ev.resource_type, ev.resource_id),
    )


def changes_of(details: dict) -> list[tuple[str, object, object]]:
    """Before/after values an event recorded, as (field, before, after) rows.

    Understands ``{"before": {...}, "after": {...}}`` and ``{"changes": {field:
    [old, new] | {"from"/"before": old, "to"/"after": new}}}``.
    """
    out: list[tuple[str, object, object]] = []
    before, after = details.get("before"), details.get("after")
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before or {}, after or {}
        for key in sorted(set(before) | set(after)):
            out.append((key, before.get(key), after.get(key)))
    elif "before" in details or "after" in details:
        out.append(("value", before, after))
    changes = details.get("changes")
    if isinstance(changes, dict):
        for key, value in sorted(changes.items()):
            if isinstance(value, (list, tuple)) and len(value) == 2:
                out.append((key, value[0], value[1]))
            elif isinstance(value, dict):
                out.append((key, value.get("from", value.get("before")),
                            value.get("to", value.get("after"))))
            else:
                out.append((key, None, value))
    return out


@bp.get("/resource/<resource_type>/<resource_id>")
def resource(resource_type: str, resource_id: str):
    if len(resource_type) > 32 or len(resource_id) > 64:
        abort(404)
    where = [AuditEvent.resource_type == resource_type, AuditEvent.resource_id == resource_id]
    page = queries.page(where, before=_cursor_arg("before"), after=_cursor_arg("after"))
    if page.first and not page.rows:
        abort(404)
    return render_page(
        "audit/resource.html", "audit/_timeline.html",
        results=page, resource_type=resource_type, resource_id=resource_id,
        resource_name=_resource_name(resource_type, resource_id), changes_of=changes_of,
        args=MultiDict(), endpoint="audit.resource",
        endpoint_args={"resource_type": resource_type, "resource_id": resource_id},
    )


def _period():
    """The period asked for and no errors, or the default period and {field: message}."""
    try:
        return queries.period_from(request.args, utcnow()), None
    except FilterError as exc:
        return queries.period_from({}, utcnow()), {exc.field: str(exc)}


@bp.get("/stats")
def stats():
    period, error = _period()
    figures = queries.stats(period)
    charts = {
        "per_day": {"labels": [d for d, _ in figures.per_day], "values": [n for _, n in figures.per_day]},
        "top_actions": {"labels": [a for a, _ in figures.top_actions],
                        "values": [n for _, n in figures.top_actions]},
        "outcomes": {"keys": ["success", "failure", "denied"],
                     "labels": [word("success"), word("failure"), word("denied")],
                     "values": [figures.total - figures.failures - figures.denials,
                                figures.failures, figures.denials]},
    }
    return render_page(
        "audit/stats.html", "audit/_stats.html", status=422 if error else 200,
        period=period, error=error, s=figures, charts=charts,
        periods=queries.PERIODS,
    )


@bp.get("/security")
def security():
    period, error = _period()
    threshold = int_arg("threshold", 3, lo=2, hi=100)
    return render_page(
        "audit/security.html", "audit/_security.html", status=422 if error else 200,
        period=period, error=error, sec=queries.security(period, threshold=threshold),
        periods=queries.PERIODS,
    )


@bp.get("/mine")
def mine():
    where = queries.conditions(AuditFilter(actor_id=current_user.id))
    page = queries.page(where, before=_cursor_arg("before"), after=_cursor_arg("after"))
    return render_page("audit/mine.html", "audit/_mine_rows.html", results=page,
                       args=MultiDict(), endpoint="audit.mine")


@bp.get("/integrity")
def integrity_page():
    seq, head_hash = _head()
    return render_template(
        "audit/integrity.html",
        count=db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) or 0,
        head_seq=seq, head_hash=head_hash, last=integrity.last_check(),
        job=integrity.running_job(),
        checkpoint_dir=current_app.config["AUDIT_CHECKPOINT_DIR"],
    )


def _head():
    return chain.head(db.session)


@bp.post("/integrity/check")
def integrity_check():
    job, new = integrity.start_check(current_user)
    job_id = job.id
    db.session.commit()
    if new:
        jobs.dispatch(job_id)
        flash(_("The full check has started."), "info")
    else:
        flash(_("A full check is already under way."), "info")
    return redirect(url_for("audit.integrity_job", job_id=job_id))


@bp.get("/integrity/jobs/<int:job_id>")
def integrity_job(job_id: int):
    job = db.get_or_404(Job, job_id)
    if job.kind != integrity.JOB_KIND:
        abort(404)
    return render_page("audit/job.html", "audit/_job.html", job=job)



# Stored values as the reader's words on every page (the dashboard's activity list too).
bp.add_app_template_global(word, "audit_word")
bp.add_app_template_global(device, "audit_device")


@bp.app_template_filter("audit_time")
def audit_time(value) -> str:
    """An event's time to the second in the reader's language and zone, the zone named."""
    return dates.instant(value, seconds=True)
