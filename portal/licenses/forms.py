from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from portal.licenses.services import REVOKE_REASONS


class SpecializationSelectForm(FlaskForm):
    # The specialization's code (e.g. PLY); a numeric id is accepted too.
    specialization = StringField("Specialization", validators=[DataRequired(), Length(max=16)])


class UpgradeRequestForm(FlaskForm):
    reason = TextAreaField(
        "Why are you ready for the next level?", validators=[DataRequired(), Length(max=2000)]
    )


class RequestApproveForm(FlaskForm):
    note = TextAreaField(
        "Note (needed when requirements are missing)", validators=[Optional(), Length(max=2000)]
    )


class RequestRejectForm(FlaskForm):
    note = TextAreaField("Why is it rejected?", validators=[DataRequired(), Length(max=2000)])
    # "yes" once the person confirmed (the dialog with JavaScript, the page without).
    confirmed = HiddenField()


# An admin's actions on one license (routes in ``portal.admin.licenses``).


class NoteForm(FlaskForm):
    """Reinstate and renew: an optional note."""

    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=2000)])


class SuspendForm(FlaskForm):
    note = TextAreaField("Reason for the suspension", validators=[DataRequired(), Length(max=2000)])


class RevokeForm(FlaskForm):
    # The category is kept apart from the free-text note: verifications show it.
    reason_category = SelectField(
        "Reason",
        choices=[SelectChoice("", "Choose a reason"), *(SelectChoice(v, text) for v, text in REVOKE_REASONS)],
        validators=[DataRequired("Choose a reason.")],
    )
    note = TextAreaField("Note", validators=[DataRequired(), Length(max=2000)])
