"""The admin's definition form and the person's show/hide switch."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from portal.achievements import icons, rules
from portal.admin import titles


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _optional_id(value):
    return int(value) if value not in (None, "", "None") and str(value).isdigit() else None


class AchievementForm(FlaskForm):
    title = StringField(_l("Title"), filters=[_strip], validators=[DataRequired(), Length(max=80)])
    description = StringField(_l("Description"), filters=[_strip], validators=[Length(max=300)])
    icon = RadioField(
        _l("Icon"),
        choices=[SelectChoice(key, name) for key, (name, _shape) in icons.ICONS.items()],
        validators=[InputRequired(message=_l("Choose an icon."))],
    )
    xp = IntegerField(_l("XP"), validators=[InputRequired(), NumberRange(min=0, max=10000)])
    trigger = SelectField(
        _l("Earned by"),
        choices=[SelectChoice(k, v) for k, v in rules.TRIGGERS.items()],
        validators=[InputRequired()],
    )
    count = IntegerField(
        _l("Count"),
        default=1,
        validators=[InputRequired(), NumberRange(min=1, max=1000)],
        description=_l("How many: logins, licenses, checks, days ... or the level number."),
    )
    specialization_id = SelectField(
        _l("Specialization (for a level reached)"), coerce=_optional_id, validate_choice=False
    )


titles.add_fields(AchievementForm, "title", 80)
titles.add_fields(AchievementForm, "description", 300)


class ShowAchievementsForm(FlaskForm):
    show = BooleanField(_l("Show my achievements, XP and level"))


class ClassSummaryForm(FlaskForm):
    on = BooleanField(
        _l("Let the instructor see how many students earned each achievement (counts only, no names)")
    )
