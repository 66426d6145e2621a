from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from portal.auth.forms import RegisterForm


class ClassCreateForm(FlaskForm):
    name = StringField(_l("Class name"), validators=[DataRequired(), Length(max=120)])
    # Offered: the specializations the instructor teaches; the route refuses any other.
    specialization = SelectField(
        _l("Specialization"), coerce=int, validators=[DataRequired()], validate_choice=False
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class ClassJoinForm(FlaskForm):
    join_code = StringField(_l("Join code"), validators=[DataRequired(), Length(max=40)])


class ClassEditForm(FlaskForm):
    name = StringField(_l("Class name"), id="edit_name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), id="edit_description",
                                validators=[Optional(), Length(max=2000)])


class InviteForm(FlaskForm):
    """Addresses one a line, or a CSV file; either one."""

    emails = TextAreaField(_l("E-mail addresses, one a line"), validators=[Optional(), Length(max=200_000)])
    file = FileField(_l("Or a CSV file with a column “email” (and “name”, if you like)"))


class InvitationRegisterForm(RegisterForm):
    """Registering from an invitation: the address is the invited one."""

    email = None
