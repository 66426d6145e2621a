from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from portal.models.notification import Category, MailMode
from portal.notifications import kinds

SWITCHABLE = [c for c in Category.ALL if c not in kinds.FIXED]


def _field(category: str) -> RadioField:
    return RadioField(kinds.CATEGORY_LABELS[category],
                      choices=[SelectChoice(m, kinds.MODE_LABELS[m]) for m in MailMode.ALL],
                      description=kinds.CATEGORY_HINTS[category],
                      validators=[InputRequired(_l("Choose how you want to hear about this."))])


class NotificationPreferencesForm(FlaskForm):
    """One choice per category but security (always e-mailed at once)."""


for _category in SWITCHABLE:
    setattr(NotificationPreferencesForm, _category, _field(_category))
