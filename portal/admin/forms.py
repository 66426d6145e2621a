"""Administration forms."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from portal import dates
from portal.account.forms import check_name_part
from portal.admin import titles
from portal.models.consent import ConsentMethod
from portal.models.user import Role, UserStatus


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


ROLE_CHOICES = [(Role.STUDENT, _l("Student")), (Role.INSTRUCTOR, _l("Instructor")), (Role.ADMIN, _l("Admin"))]
STATUS_CHOICES = [
    (UserStatus.ACTIVE, _l("Active")),
    (UserStatus.SUSPENDED, _l("Suspended")),
    (UserStatus.PENDING, _l("Pending")),
    (UserStatus.ARCHIVED, _l("Archived")),
]
# The words the admin pages show for stored values (a value not listed is shown as it is).
ROLE_NAMES = dict(ROLE_CHOICES)
USER_STATUS_NAMES = dict(STATUS_CHOICES)
LICENSE_STATUS_NAMES = {
    "active": _l("Active"),
    "suspended": _l("Suspended"),
    "revoked": _l("Revoked"),
    "expired": _l("Expired"),
}
JOB_STATUS_NAMES = {
    "queued": _l("Queued"),
    "running": _l("Running"),
    "finished": _l("Finished"),
    "failed": _l("Failed"),
}
HISTORY_KIND_NAMES = {
    "issued": _l("issued"),
    "upgraded": _l("upgraded"),
    "suspended": _l("suspended"),
    "reinstated": _l("reinstated"),
    "revoked": _l("revoked"),
    "renewed": _l("renewed"),
    "expired": _l("expired"),
    "level_set": _l("level set"),
}


class UserCreateForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("E-mail"), filters=[_strip], validators=[
        DataRequired(), Length(max=254),
        Email(_l("Enter an e-mail address like name@example.org."), check_deliverability=False)])
    role = SelectField(_l("Role"), choices=options(ROLE_CHOICES), default=Role.STUDENT)
    date_of_birth = dates.date_field(
        _l("Date of birth (optional)"),
        [Optional()],
        too_early=_l("Please check the year of the date of birth."),
        too_late=_l("The date of birth must be in the past."),
    )


class UserRoleForm(FlaskForm):
    role = SelectField(_l("New role"), choices=options(ROLE_CHOICES))
    reason = StringField(_l("Reason"), id="role_reason", validators=[DataRequired(), Length(max=500)])


class UserStatusForm(FlaskForm):
    status = SelectField(_l("New status"), choices=options(STATUS_CHOICES))
    reason = StringField(_l("Reason"), id="status_reason", validators=[DataRequired(), Length(max=500)])


CONSENT_METHODS = [
    (ConsentMethod.SIGNED_FORM, lazy_gettext("Signed form")),
    (ConsentMethod.EMAIL, lazy_gettext("E-mail from the guardian")),
    (ConsentMethod.IN_PERSON, lazy_gettext("In person")),
]


class ConsentForm(FlaskForm):
    """Guardian consent with its evidence (SPEC §8); the service checks the values too."""

    guardian_name = StringField(lazy_gettext("Guardian's name"), filters=[_strip], validators=[
        DataRequired(lazy_gettext("Enter the guardian's name.")),
        Length(max=120, message=lazy_gettext("Keep the guardian's name to 120 characters."))])
    relationship = StringField(lazy_gettext("Relationship to the student"), filters=[_strip], validators=[
        DataRequired(lazy_gettext("Say how the guardian is related to the student.")),
        Length(max=60, message=lazy_gettext("Keep the relationship to 60 characters."))])
    method = RadioField(lazy_gettext("How the consent was given"), choices=options(CONSENT_METHODS),
                        validators=[InputRequired(lazy_gettext("Choose how the consent was given."))])
    note = TextAreaField(lazy_gettext("Note (optional)"), filters=[_strip], validators=[
        Optional(), Length(max=2000, message=lazy_gettext("Keep the note to 2000 characters."))])


class ConsentWithdrawForm(FlaskForm):
    reason = StringField(lazy_gettext("Why the consent is withdrawn"), id="withdraw_reason",
                         filters=[_strip], validators=[
                             DataRequired(lazy_gettext("Say why the consent is withdrawn.")),
                             Length(max=500, message=lazy_gettext("Keep the reason to 500 characters."))])


class UserDetailsForm(FlaskForm):
    """An admin's correction of a person's name (and its optional given and family parts),
    address and date of birth, with a reason."""

    name = StringField(lazy_gettext("Full name"), id="details_name", filters=[_strip],
                       validators=[DataRequired(lazy_gettext("Enter a name."))])
    given_name = StringField(lazy_gettext("Given name (optional)"), id="details_given_name", filters=[_strip])
    family_name = StringField(lazy_gettext("Family name (optional)"), id="details_family_name",
                              filters=[_strip])
    email = EmailField(lazy_gettext("E-mail address"), id="details_email", filters=[_strip], validators=[
        DataRequired(lazy_gettext("Enter the e-mail address.")), Length(max=254),
        Email(lazy_gettext("Enter an e-mail address like name@example.org."), check_deliverability=False)])
    date_of_birth = dates.date_field(
        lazy_gettext("Date of birth"),
        [Optional()],
        id="details_date_of_birth",
        too_early=lazy_gettext("Please check the year of the date of birth."),
        too_late=lazy_gettext("The date of birth must be in the past."),
    )
    reason = StringField(lazy_gettext("Reason for the correction"), id="details_reason", filters=[_strip],
                         validators=[DataRequired(lazy_gettext("Say why the details are corrected.")),
                                     Length(max=500)])

    def validate_given_name(self, field):
        check_name_part(field)

    def validate_family_name(self, field):
        check_name_part(field)


class ArchiveForm(FlaskForm):
    reason = StringField(lazy_gettext("Reason"), id="archive_reason", filters=[_strip],
                         validators=[DataRequired(lazy_gettext("Say why.")), Length(max=500)])


class TwoFactorResetForm(FlaskForm):
    reason = StringField(lazy_gettext("Reason"), id="two_factor_reason", filters=[_strip],
                         validators=[DataRequired(lazy_gettext("Say why.")), Length(max=500)])
_WHICH_REQUEST = lazy_gettext("Say which request this is.")


class EraseForm(FlaskForm):
    """Erase a person's data on a request received by post or mail, or from a guardian."""
    reason = StringField(lazy_gettext("Reason"), id="erase_reason", filters=[_strip],
                         validators=[DataRequired(_WHICH_REQUEST), Length(max=500)])


class GuardianExportForm(FlaskForm):
    """Export a person's data on a request received otherwise (a minor's guardian)."""
    reason = StringField(lazy_gettext("Reason"), id="export_reason", filters=[_strip],
                         validators=[DataRequired(_WHICH_REQUEST), Length(max=500)])


class InstructorSpecializationsForm(FlaskForm):
    # Checkboxes; the service checks the ids (unknown, archived), so that every caller
    # gets the same answer.
    specializations = SelectMultipleField(
        _l("Specializations they teach"), id="specializations", validate_choice=False
    )


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[Optional(), Length(max=500)])


class SpecializationForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Regexp(r"^[A-Za-z]{3}$", message=_l("Three letters, e.g. PLY."))],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    max_level = IntegerField(
        _l("Number of levels"), validators=[InputRequired(), NumberRange(1, 20)], default=3
    )
    min_age = IntegerField(_l("Minimum age"), validators=[InputRequired(), NumberRange(0, 99)], default=0)
    validity_months = IntegerField(
        _l("Validity (months)"), validators=[Optional(), NumberRange(1, 240)]
    )
    auto_issue = BooleanField(_l("Issue level 1 at once when a student selects it"), default=True)


titles.add_fields(SpecializationForm, "name", 80)


class LevelForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=120)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])


titles.add_fields(LevelForm, "title", 120)


class RequirementForm(FlaskForm):
    title = StringField(_l("Requirement"), validators=[DataRequired(), Length(max=160)])
    description = TextAreaField(_l("Details"), validators=[Optional(), Length(max=5000)])


class LicenseIssueForm(FlaskForm):
    email = EmailField(_l("Holder's e-mail"), filters=[_strip], validators=[DataRequired(), Length(max=254)])
    specialization = SelectField(_l("Specialization"), coerce=int, validators=[InputRequired()])
    level = IntegerField(_l("Level"), validators=[InputRequired(), NumberRange(1, 20)], default=1)


BULK_ACTION_CHOICES = [("issue", _l("Issue level 1 to every eligible student")),
                       ("upgrade", _l("Upgrade every active license by one level"))]


class BulkPreviewForm(FlaskForm):
    """Step one of a bulk job, read from the query string: what the job would do. Nothing
    changes, so it needs no CSRF token."""

    class Meta:
        csrf = False

    klass = SelectField(_l("Class"), coerce=int, validators=[InputRequired(_l("Choose a class."))])
    action = RadioField(_l("Action"), choices=options(BULK_ACTION_CHOICES), default="issue")
    prerender = BooleanField(_l("Pre-render the certificates"), default=True)


class BulkForm(FlaskForm):
    """Step two: start the job the admin saw in the preview (``preview`` is its digest)."""

    klass = SelectField(_l("Class"), coerce=int, validators=[InputRequired(_l("Choose a class."))])
    action = RadioField(_l("Action"), choices=options(BULK_ACTION_CHOICES), default="issue")
    prerender = BooleanField(_l("Pre-render the certificates"), default=True)
    preview = HiddenField(validators=[DataRequired(_l("Look at the preview first, then confirm."))])
    override = BooleanField(_l("Move them anyway"))
    override_reason = TextAreaField(_l("Reason for the override"), validators=[Length(max=500)])

    def validate_override_reason(self, field) -> None:
        if self.override.data and not (field.data or "").strip():
            raise ValidationError(_("Say why these students move although the rules hold them back."))
