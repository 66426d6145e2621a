"""The public verification form."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from portal.licenses import codes


class VerifyForm(FlaskForm):
    """Read from the query string (``GET /verify?code=...``), so it needs no CSRF token."""

    class Meta:
        csrf = False

    code = StringField(
        _l("License code"),
        validators=[DataRequired(_l("Enter the license code printed on the certificate.")), Length(max=64)],
        filters=[lambda value: value.strip() if value else value],
    )

    def validate_code(self, field) -> None:
        if codes.normalise(field.data) is None:
            raise ValidationError(_(
                "This is not a valid license code: check it for typing mistakes. A code looks "
                "like %(example)s; case, spaces and dashes do not matter.", example="PLY-7K3Q-9XZD-M2P4-R"
            ))
