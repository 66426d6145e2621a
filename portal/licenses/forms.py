from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from portal.licenses.services import REVOKE_REASONS


class SpecializationSelectForm(FlaskForm):
    # The specialization's code (e.g. PLY); a numeric id is accepted too.
    specialization = StringField(lazy_gettext("Specialization"), validators=[DataRequired(), Length(max=16)])


class UpgradeRequestForm(FlaskForm):
    reason = TextAreaField(
        lazy_gettext("Why are you ready for the next level?"), validators=[DataRequired(), Length(max=2000)]
    )


class RequestApproveForm(FlaskForm):
    note = TextAreaField(
        lazy_gettext("Note (needed when requirements are missing)"), validators=[Optional(), Length(max=2000)]
    )


class RequestRejectForm(FlaskForm):
    note = TextAreaField(lazy_gettext("Why is it rejected?"), validators=[DataRequired(), Length(max=2000)])
    # "yes" once the person confirmed (the dialog with JavaScript, the page without).
    confirmed = HiddenField()


# An admin's actions on one license (routes in ``portal.admin.licenses``).


class NoteForm(FlaskForm):
    """Reinstate and renew: an optional note."""

    note = TextAreaField(lazy_gettext("Note (optional)"), validators=[Optional(), Length(max=2000)])


class LevelSetForm(FlaskForm):
    """An admin's correction of a license's level (any level of the specialization)."""

    level = IntegerField(lazy_gettext("Correct level"), id="set_level",
                         validators=[InputRequired(), NumberRange(min=1, max=100)])
    reason = StringField(lazy_gettext("Reason"), id="set_level_reason",
                         validators=[DataRequired(), Length(max=500)])


class SuspendForm(FlaskForm):
    note = TextAreaField(lazy_gettext("Reason for the suspension"),
                         validators=[DataRequired(), Length(max=2000)])


class RevokeForm(FlaskForm):
    # The category is kept apart from the free-text note: verifications show it.
    reason_category = SelectField(
        lazy_gettext("Reason"),
        choices=[SelectChoice("", lazy_gettext("Choose a reason")),
                 *(SelectChoice(v, text) for v, text in REVOKE_REASONS)],
        validators=[DataRequired(lazy_gettext("Choose a reason."))],
    )
    note = TextAreaField(lazy_gettext("Note"), validators=[DataRequired(), Length(max=2000)])
