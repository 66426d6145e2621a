from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length

from portal import dates
from portal.auth.policy import MAX_LENGTH

# Generous bounds on what we even try to hash; the policy gives the friendly message.
_PASSWORD_INPUT_MAX = 1024


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class LoginForm(FlaskForm):
    email = EmailField(
        "E-mail", filters=[_strip], validators=[DataRequired("Enter your e-mail address."), Length(max=254)]
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired("Enter your password."), Length(max=_PASSWORD_INPUT_MAX)],
    )
    remember = BooleanField("Keep me logged in on this device")


def _email_field(label: str = "E-mail"):
    return EmailField(
        label,
        filters=[_strip],
        validators=[
            DataRequired("Enter your e-mail address."),
            Length(max=254),
            Email("Enter an e-mail address like name@example.org.", check_deliverability=False),
        ],
    )


def _new_password_fields():
    password = PasswordField(
        "New password",
        validators=[InputRequired("Choose a password."), Length(max=_PASSWORD_INPUT_MAX)],
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[
            InputRequired("Repeat the password."),
            EqualTo("password", "The two passwords are not the same."),
        ],
    )
    return password, confirm


class RegisterForm(FlaskForm):
    name = StringField(
        "Full name", filters=[_strip], validators=[DataRequired("Enter your name."), Length(max=120)]
    )
    email = _email_field()
    password, confirm_password = _new_password_fields()
    date_of_birth = dates.date_field(
        "Date of birth",
        [InputRequired("Enter your date of birth as YYYY-MM-DD.")],
        too_early="Please check the year of your date of birth.",
        too_late="Your date of birth must be in the past.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.password.label.text = "Password"


class ForgotPasswordForm(FlaskForm):
    email = _email_field()


class ConfirmationLinkForm(FlaskForm):
    email = _email_field()


class ResetPasswordForm(FlaskForm):
    password, confirm_password = _new_password_fields()


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[InputRequired("Enter your current password."), Length(max=_PASSWORD_INPUT_MAX)],
    )
    password, confirm_password = _new_password_fields()


PASSWORD_HINT = (
    f"At least 10 and at most {MAX_LENGTH} characters. Any characters, spaces and emoji "
    "welcome; a few words you will remember is a good choice."
)
