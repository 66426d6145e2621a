from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

from portal import dates
from portal.auth.policy import MAX_LENGTH, MIN_LENGTH

# Generous bounds on what we even try to hash; the policy gives the friendly message.
_PASSWORD_INPUT_MAX = 1024


def _at_most(limit: int) -> Length:
    # Our own words: WTForms' Hungarian catalog has no plural of its own message.
    return Length(max=limit, message=_l("Use at most %(max)d characters."))


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = EmailField(
        _l("E-mail"), filters=[_strip],
        validators=[DataRequired(_l("Enter your e-mail address.")), _at_most(254)],
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), _at_most(_PASSWORD_INPUT_MAX)],
    )
    remember = BooleanField(_l("Keep me logged in on this device"))


def _code_field(label=None):
    return StringField(
        label or _l("Code"), filters=[_strip],
        validators=[DataRequired(_l("Enter the code from your app, or a recovery code.")), _at_most(64)],
    )


class TwoFactorForm(FlaskForm):
    """The second step of a login: field ``code`` (a TOTP code or a recovery code)."""

    code = _code_field()
    remember_device = BooleanField(_l("Remember this device for 30 days"))


class StepUpForm(FlaskForm):
    code = _code_field()


def _email_field(label=None):
    return EmailField(
        label or _l("E-mail"),
        filters=[_strip],
        validators=[
            DataRequired(_l("Enter your e-mail address.")),
            _at_most(254),
            Email(_l("Enter an e-mail address like name@example.org."), check_deliverability=False),
        ],
    )


def _new_password_fields():
    password = PasswordField(
        _l("New password"),
        validators=[InputRequired(_l("Choose a password.")), _at_most(_PASSWORD_INPUT_MAX)],
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            InputRequired(_l("Repeat the password.")),
            EqualTo("password", _l("The two passwords are not the same.")),
        ],
    )
    return password, confirm


class RegisterForm(FlaskForm):
    name = StringField(
        _l("Full name"), filters=[_strip],
        validators=[DataRequired(_l("Enter your name.")), _at_most(120)],
    )
    email = _email_field()
    password, confirm_password = _new_password_fields()
    date_of_birth = dates.date_field(
        _l("Date of birth"),
        [InputRequired(_l("Enter your date of birth as YYYY-MM-DD."))],
        too_early=_l("Please check the year of your date of birth."),
        too_late=_l("Your date of birth must be in the past."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.password.label.text = _("Password")


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


class ConfirmationLinkForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(FlaskForm):
    password, confirm_password = _new_password_fields()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(_l("Enter your current password.")),
                    _at_most(_PASSWORD_INPUT_MAX)],
    )
    password, confirm_password = _new_password_fields()


PASSWORD_HINT = _l(
    "At least %(min)d and at most %(max)d characters. Any characters, spaces and emoji "
    "are welcome; a few words you will remember is a good choice.",
    min=MIN_LENGTH, max=MAX_LENGTH,
)
