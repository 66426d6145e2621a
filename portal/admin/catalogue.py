"""The catalogue: specializations, their levels and each level's requirements."""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal import refused
from portal.admin import bp, forms, queries, services, titles
from portal.exceptions import commit_or_show, form_status
from portal.extensions import db
from portal.htmx import redirect
from portal.models.catalogue import Level, Requirement, Specialization


def _to_spec(spec_id: int, level: Level | None = None):
    anchor = f"level-{level.number}" if level is not None else None
    return redirect(url_for("admin.specialization_detail", spec_id=spec_id, _anchor=anchor))


@bp.get("/specializations")
def specializations():
    return render_template("admin/specializations.html", rows=queries.specializations_with_license_counts())


@bp.route("/specializations/new", methods=["GET", "POST"])
def specialization_new():
    form = forms.SpecializationForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, services.create_specialization, _spec_data(form), current_user
    )):
        spec = done.value
        flash(ngettext("%(name)s created with %(num)d level. Add its requirements below.",
                       "%(name)s created with %(num)d levels. Add their requirements below.",
                       spec.max_level, name=spec.local_name), "success")
        return _to_spec(spec.id)
    return render_template("admin/specialization_new.html", form=form), form_status(form)


def _spec_data(form: forms.SpecializationForm) -> dict:
    return {**form.data, "titles": titles.from_form(form, "name")}


def _spec_page(spec: Specialization, sent=None, form=None, level_forms=None):
    """The specialization page; ``sent`` is the form that was sent and is shown again."""
    form = form or forms.SpecializationForm(obj=spec, formdata=None,
                                            **titles.form_values(spec.titles, "name"))
    # A form for every level and requirement on the page; the one just sent, with its errors.
    shown = {"new": forms.LevelForm(formdata=None)}
    for level in spec.levels:
        shown[level.id] = forms.LevelForm(formdata=None, obj=level,
                                          **titles.form_values(level.titles, "title"))
        shown[f"req-{level.id}"] = forms.RequirementForm(formdata=None)
        for req in level.requirements:
            shown[f"edit-{req.id}"] = forms.RequirementForm(formdata=None, obj=req)
    for key, blank in list(shown.items()):  # one refused without htmx comes back once
        if (kept := refused.again(str(key), type(blank))) is not None:
            shown[key] = sent = kept
    shown.update(level_forms or {})
    return render_template(
        "admin/specialization_detail.html",
        spec=spec, form=form, level_form=shown["new"], level_forms=shown, licenses=services.licenses_in(spec),
        reached=services.highest_level_held(spec),
    ), refused.page_status(sent)


def _refused(spec: Specialization, key, form, level: Level | None = None):
    """A level or requirement form refused: shown again on the specialization page, as
    ``level_forms[key]`` (see ``portal.refused``)."""
    anchor = f"level-{level.number}" if level is not None else "levels"
    page = url_for("admin.specialization_detail", spec_id=spec.id, _anchor=anchor)
    return refused.show_again(form, str(key), page, lambda: _spec_page(spec, form, level_forms={key: form}))


@bp.route("/specializations/<int:spec_id>", methods=["GET", "POST"])
def specialization_detail(spec_id: int):
    spec = db.get_or_404(Specialization, spec_id)
    if request.method == "GET":
        return _spec_page(spec)
    form = forms.SpecializationForm()
    if form.validate_on_submit() and commit_or_show(form, services.update_specialization, spec,
                                                    _spec_data(form), current_user):
        flash(_("%(name)s saved.", name=spec.local_name), "success")
        return _to_spec(spec.id)
    return _spec_page(db.get_or_404(Specialization, spec_id), form, form=form)


def _spec_action(spec_id: int, action, message) -> bool:
    """Archive, restore or delete; says so, or flashes the refusal."""
    spec = db.get_or_404(Specialization, spec_id)
    name = spec.local_name
    done = commit_or_show(None, action, spec, current_user)
    if done:
        flash(message(name), "success")
    return bool(done)


@bp.post("/specializations/<int:spec_id>/archive")
def specialization_archive(spec_id: int):
    _spec_action(spec_id, services.archive_specialization,
                 lambda name: _("%(name)s is archived: no new licenses; existing ones stay valid.",
                                name=name))
    return _to_spec(spec_id)


@bp.post("/specializations/<int:spec_id>/restore")
def specialization_restore(spec_id: int):
    _spec_action(spec_id, services.restore_specialization,
                 lambda name: _("%(name)s is offered again.", name=name))
    return _to_spec(spec_id)


@bp.post("/specializations/<int:spec_id>/delete")
def specialization_delete(spec_id: int):
    if _spec_action(spec_id, services.delete_specialization, lambda name: _("%(name)s deleted.", name=name)):
        return redirect(url_for("admin.specializations"))
    return _to_spec(spec_id)


@bp.post("/specializations/<int:spec_id>/levels")
def level_add(spec_id: int):
    spec = db.get_or_404(Specialization, spec_id)
    form = forms.LevelForm()
    if not form.validate_on_submit():
        return _refused(spec, "new", form)
    level = services.add_level(spec, form.title.data, form.description.data, current_user,
                               titles.from_form(form, "title"))
    db.session.commit()
    flash(_("Level %(number)s added.", number=level.number), "success")
    return _to_spec(spec.id, level)


@bp.post("/levels/<int:level_id>")
def level_edit(level_id: int):
    level = db.get_or_404(Level, level_id)
    form = forms.LevelForm()
    if not form.validate_on_submit():
        return _refused(level.specialization, level.id, form, level)
    services.update_level(level, form.title.data, form.description.data, current_user,
                          titles.from_form(form, "title"))
    db.session.commit()
    flash(_("Level %(number)s saved.", number=level.number), "success")
    return _to_spec(level.specialization_id, level)


@bp.post("/levels/<int:level_id>/remove")
def level_remove(level_id: int):
    level = db.get_or_404(Level, level_id)
    spec_id, number = level.specialization_id, level.number
    if commit_or_show(None, services.remove_level, level, current_user):
        flash(_("Level %(number)s removed.", number=number), "success")
    return _to_spec(spec_id)


@bp.post("/levels/<int:level_id>/requirements")
def requirement_add(level_id: int):
    level = db.get_or_404(Level, level_id)
    form = forms.RequirementForm()
    if not form.validate_on_submit():
        return _refused(level.specialization, f"req-{level.id}", form, level)
    services.add_requirement(level, form.title.data, form.description.data, current_user)
    db.session.commit()
    flash(_("Requirement added."), "success")
    return _to_spec(level.specialization_id, level)


@bp.post("/requirements/<int:req_id>")
def requirement_edit(req_id: int):
    requirement = db.get_or_404(Requirement, req_id)
    level = requirement.level
    form = forms.RequirementForm()
    if not form.validate_on_submit():
        return _refused(level.specialization, f"edit-{requirement.id}", form, level)
    services.update_requirement(requirement, form.title.data, form.description.data, current_user)
    db.session.commit()
    flash(_("Requirement saved."), "success")
    return _to_spec(level.specialization_id, level)


@bp.post("/requirements/<int:req_id>/remove")
def requirement_remove(req_id: int):
    requirement = db.get_or_404(Requirement, req_id)
    level = requirement.level
    services.remove_requirement(requirement, current_user)
    db.session.commit()
    flash(_("Requirement removed."), "success")
    return _to_spec(level.specialization_id, level)


@bp.post("/requirements/<int:req_id>/move")
def requirement_move(req_id: int):
    requirement = db.get_or_404(Requirement, req_id)
    level = requirement.level
    direction = request.form.get("direction", "")
    if commit_or_show(None, services.move_requirement, requirement, direction, current_user):
        where = {"title": requirement.title, "position": requirement.position + 1,
                 "count": len(level.requirements), "number": level.number}
        if direction == "up":
            flash(_("“%(title)s” moved up: it is now %(position)s of %(count)s in level %(number)s.",
                    **where), "success")
        else:
            flash(_("“%(title)s” moved down: it is now %(position)s of %(count)s in level %(number)s.",
                    **where), "success")
    return _to_spec(level.specialization_id, level)
