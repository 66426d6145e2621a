"""The student's own achievements: GET /achievements and the switch that hides them."""

from __future__ import annotations

from flask import flash, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.achievements import bp, forms, icons, rules, services
from portal.exceptions import commit_or_show
from portal.htmx import redirect

_BADGE_HELPERS = {
    "achievement_icon": icons.svg,
    "icon_name": icons.name,
    "achievement_unit": lambda trigger: rules.UNITS.get(trigger, ""),
}


@bp.app_context_processor
def badge_helpers() -> dict:
    return _BADGE_HELPERS


def _page(form=None, status: int = 200):
    form = form or forms.ShowAchievementsForm(formdata=None, show=current_user.show_achievements)
    shown = current_user.show_achievements
    return render_template(
        "achievements/index.html", form=form, overview=services.overview(current_user) if shown else None
    ), status


@bp.get("")
def index():
    return _page()


@bp.post("/visibility")
def visibility():
    form = forms.ShowAchievementsForm()
    if form.validate_on_submit() and commit_or_show(
        form, services.set_shown, current_user, form.show.data, current_user
    ):
        flash(
            _("Your achievements are shown again.")
            if form.show.data
            else _("Your achievements are hidden. Nobody sees them, you neither, until you show them again."),
            "success",
        )
        return redirect(url_for("achievements.index"))
    return _page(form, 422)
