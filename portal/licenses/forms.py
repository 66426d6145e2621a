from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
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


class LicenseSuspendForm(FlaskForm):
    note = TextAreaField("Reason for the suspension", validators=[DataRequired(), Length(max=2000)])
    confirm = BooleanField("Yes, suspend this license", validators=[DataRequired("Tick the box to confirm.")])


class LicenseRevokeForm(FlaskForm):
    reason = SelectField(
        "Reason",
        choices=[
            SelectChoice("", "Choose a reason"),
            *(SelectChoice(v, label) for v, label in REVOKE_REASONS),
        ],
        validators=[DataRequired("Choose a reason.")],
    )
    note = TextAreaField("Note", validators=[DataRequired(), Length(max=2000)])
    confirm = BooleanField("Yes, revoke this license", validators=[DataRequired("Tick the box to confirm.")])


class LicenseNoteForm(FlaskForm):
    """Reinstate and renew: an optional note."""

    note = TextAreaField("Note (optional)", validators=[Optional(), Length(max=2000)])
