"""/admin/achievements: the definitions (title and description per language, icon, XP,
trigger and count); archive once earned. Guarded by the admin blueprint."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from portal.achievements import forms, icons, rules, services
from portal.admin import bp, titles
from portal.exceptions import commit_or_show, form_status
from portal.extensions import db
from portal.htmx import redirect
from portal.models.achievement import Achievement
from portal.models.catalogue import Specialization
from portal.models.klass import Klass


def _form(obj: Achievement | None = None) -> forms.AchievementForm:
    if obj is None:
        form = forms.AchievementForm() if request.method == "POST" else forms.AchievementForm(icon="star")
    elif request.method == "POST":
        form = forms.AchievementForm()
    else:
        form = forms.AchievementForm(
            obj=obj,
            **titles.form_values(obj.titles, "title"),
            **titles.form_values(obj.descriptions, "description"),
        )
    specs = db.session.scalars(sa.select(Specialization).order_by(Specialization.name)).all()
    form.specialization_id.choices = [SelectChoice("", _("Any specialization"))] + [
        SelectChoice(s.id, s.local_name) for s in specs
    ]
    return form


def _data(form: forms.AchievementForm) -> dict:
    return {
        **form.data,
        "titles": titles.from_form(form, "title"),
        "descriptions": titles.from_form(form, "description"),
    }


def _awarded_message(achievement: Achievement, awarded: int) -> None:
    if awarded:
        flash(
            ngettext(
                "%(num)d person had already reached it and earned it now.",
                "%(num)d people had already reached it and earned it now.",
                awarded,
            ),
            "success",
        )


@bp.get("/achievements")
def achievements():
    return render_template("admin/achievements.html", rows=services.definitions(), triggers=rules.TRIGGERS)


@bp.route("/achievements/new", methods=["GET", "POST"])
def achievement_new():
    form = _form()
    if form.validate_on_submit() and (
        done := commit_or_show(form, services.create_achievement, _data(form), current_user)
    ):
        flash(_("Achievement “%(title)s” created.", title=done.value.local_title), "success")
        _awarded_message(done.value, services.earned_count(done.value))
        return redirect(url_for("admin.achievements"))
    return render_template(
        "admin/achievement_form.html", form=form, achievement=None, icons=icons
    ), form_status(form)


@bp.route("/achievements/<int:achievement_id>", methods=["GET", "POST"])
def achievement_detail(achievement_id: int):
    achievement = db.get_or_404(Achievement, achievement_id)
    form = _form(achievement)
    if form.validate_on_submit() and commit_or_show(
        form, services.update_achievement, achievement, _data(form), current_user
    ):
        flash(_("Achievement “%(title)s” saved.", title=achievement.local_title), "success")
        return redirect(url_for("admin.achievements"))
    return render_template(
        "admin/achievement_form.html",
        form=form,
        achievement=achievement,
        icons=icons,
        earned=services.earned_count(achievement),
    ), form_status(form)


@bp.post("/achievements/<int:achievement_id>/archive")
def achievement_archive(achievement_id: int):
    achievement = db.get_or_404(Achievement, achievement_id)
    if commit_or_show(None, services.archive_achievement, achievement, current_user):
        flash(
            _(
                "“%(title)s” is archived: no one earns it any more; those who did keep it.",
                title=achievement.local_title,
            ),
            "success",
        )
    return redirect(url_for("admin.achievements"))


@bp.post("/achievements/<int:achievement_id>/restore")
def achievement_restore(achievement_id: int):
    achievement = db.get_or_404(Achievement, achievement_id)
    if done := commit_or_show(None, services.restore_achievement, achievement, current_user):
        flash(_("“%(title)s” can be earned again.", title=achievement.local_title), "success")
        _awarded_message(achievement, done.value)
    return redirect(url_for("admin.achievements"))


@bp.post("/achievements/<int:achievement_id>/delete")
def achievement_delete(achievement_id: int):
    achievement = db.get_or_404(Achievement, achievement_id)
    title = achievement.local_title
    if commit_or_show(None, services.delete_achievement, achievement, current_user):
        flash(_("“%(title)s” deleted.", title=title), "success")
    return redirect(url_for("admin.achievements"))


@bp.post("/classes/<int:class_id>/achievement-summary")
def class_achievement_summary(class_id: int):
    klass = db.get_or_404(Klass, class_id)
    form = forms.ClassSummaryForm()
    if form.validate_on_submit() and commit_or_show(
        form, services.set_class_summary, klass, form.on.data, current_user
    ):
        flash(
            _("The instructor now sees how many students earned each achievement (no names).")
            if form.on.data
            else _("The instructor no longer sees the achievement summary."),
            "success",
        )
    return redirect(url_for("classes.roster", class_id=klass.id))
