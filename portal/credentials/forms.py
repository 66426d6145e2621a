"""The credential verification form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import TextAreaField


class CredentialVerifyForm(FlaskForm):
    credential = TextAreaField(_l("Credential (JSON or JWT)"))
    file = FileField(_l("Or upload the credential file"))
