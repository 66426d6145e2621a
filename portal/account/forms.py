from __future__ import annotations

from flask_babel import lazy_gettext
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, InputRequired, Length, ValidationError

from portal import dates
from portal.account.services import AccountError, validate_name, validate_name_part
from portal.i18n import LANGUAGES


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def check_name_part(field) -> None:
    """A form's check of an optional given or family name (the service checks it again)."""
    try:
        validate_name_part(field.data, field.name)
    except AccountError as exc:
        raise ValidationError(exc.message) from None


class ProfileForm(FlaskForm):
    # The length and the invisible characters are checked by the service, with one message.
    name = StringField(lazy_gettext("Full name"), filters=[_strip],
                       validators=[DataRequired(lazy_gettext("Enter a name."))])
    # Optional; empty means unknown. Checked by the service (validate_name_part).
    given_name = StringField(lazy_gettext("Given name (optional)"), filters=[_strip])
    family_name = StringField(lazy_gettext("Family name (optional)"), filters=[_strip])
    timezone = StringField(lazy_gettext("Time zone"), filters=[_strip],
                           validators=[DataRequired(lazy_gettext("Choose a time zone."))])
    locale = SelectField(lazy_gettext("Language"),
                         choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
                         validators=[InputRequired(lazy_gettext("Choose a language."))])

    # Checked here as well as by the service, so every field shows its own message at once.
    def validate_name(self, field):
        try:
            validate_name(field.data)
        except AccountError as exc:
            raise ValidationError(exc.message) from None

    def validate_given_name(self, field):
        check_name_part(field)

    def validate_family_name(self, field):
        check_name_part(field)

    def validate_timezone(self, field):
        if not dates.valid_zone(field.data):
            raise ValidationError(lazy_gettext("Choose a time zone from the list, such as Europe/Budapest."))


class EmailChangeForm(FlaskForm):
    new_email = EmailField(
        lazy_gettext("New e-mail address"), filters=[_strip],
        validators=[
            DataRequired(lazy_gettext("Enter the new e-mail address.")),
            Length(max=254, message=lazy_gettext("An e-mail address has at most 254 characters.")),
            Email(lazy_gettext("Enter an e-mail address like name@example.org."), check_deliverability=False),
        ],
    )
    current_password = PasswordField(
        lazy_gettext("Current password"),
        validators=[InputRequired(lazy_gettext("Enter your current password.")), Length(max=1024)],
    )


def _code_field():
    return StringField(lazy_gettext("Code"), filters=[_strip],
                       validators=[DataRequired(lazy_gettext("Enter the code from your app.")),
                                   Length(max=64)])


class TotpConfirmForm(FlaskForm):
    """The code that proves the app is set up (field ``code``)."""

    code = _code_field()


class TwoFactorDisableForm(FlaskForm):
    current_password = PasswordField(lazy_gettext("Current password"),
                                     validators=[DataRequired(lazy_gettext("Enter your current password.")),
                                                 Length(max=1024)])
    code = _code_field()
class AccountDeleteForm(FlaskForm):
    """Erase my account (SPEC §11): the password, and the word DELETE typed out."""
    current_password = PasswordField(lazy_gettext("Current password"),
                                     validators=[DataRequired(lazy_gettext("Enter your current password."))])
    confirm = StringField(lazy_gettext("Type DELETE to confirm"), filters=[_strip],
                          validators=[DataRequired(lazy_gettext("Type DELETE to confirm."))])
class PasskeyNameForm(FlaskForm):
    """The name of a passkey being added (optional: "Passkey 2" when empty) or renamed."""

    # Its length is checked by the service (passkeys.validate_name), with one message.
    name = StringField(lazy_gettext("Name"), filters=[_strip])
