"""Fuzzing every form with Hypothesis.

Every FlaskForm subclass in ``portal/*/forms.py`` is mapped to the route that
receives it and the visitor who may post it. Hypothesis generates values for each
of its fields (text of any kind, numbers, dates, booleans, the real choices and
junk); no answer may be a 5xx, and afterwards the database is consistent: the audit
chain is intact, every license has a valid history and signature, every account
has its creation event, and no row is half written.
"""
from __future__ import annotations

import importlib
import pkgutil
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from wtforms import fields as wtf

import portal
from portal.audit import chain as audit_chain
from portal.auth import tokens
from portal.classes import invitations
from portal.extensions import db
from portal.licenses import chain as license_chain
from portal.licenses import state
from portal.models.audit import AuditEvent
from portal.models.klass import ClassInvitation
from portal.models.license import License, LicenseEvent, UpgradeRequest
from portal.models.user import User

EXAMPLES = 8

# Form class -> (visitor, method, URL with {ids})
FORM_ROUTES = {
    "UserCreateForm": ("admin", "POST", "/admin/users/new"),
    "UserRoleForm": ("admin", "POST", "/admin/users/{user_id}/role"),
    "UserStatusForm": ("admin", "POST", "/admin/users/{other_student_id}/status"),
    "ConsentForm": ("admin", "POST", "/admin/users/{user_id}/consent"),
    "ReasonForm": ("admin", "POST", "/admin/users/{other_student_id}/sessions/end"),
    "ConsentWithdrawForm": ("admin", "POST", "/admin/users/{user_id}/consent/withdraw"),
    "UserDetailsForm": ("admin", "POST", "/admin/users/{other_student_id}/details"),
    "ArchiveForm": ("admin", "POST", "/admin/users/{other_student_id}/archive"),
    "EraseForm": ("admin", "POST", "/admin/users/{other_student_id}/erase"),
    "GuardianExportForm": ("admin", "POST", "/admin/users/{user_id}/export"),
    "InstructorSpecializationsForm": ("admin", "POST", "/admin/users/{other_instructor_id}/specializations"),
    "SpecializationForm": ("admin", "POST", "/admin/specializations/new"),
    "LevelForm": ("admin", "POST", "/admin/specializations/{spec_id}/levels"),
    "RequirementForm": ("admin", "POST", "/admin/levels/{level_id}/requirements"),
    "LicenseIssueForm": ("admin", "POST", "/admin/licenses/issue"),
    "NoteForm": ("admin", "POST", "/admin/licenses/{other_license_id}/renew"),
    "SuspendForm": ("admin", "POST", "/admin/licenses/{other_license_id}/suspend"),
    "RevokeForm": ("admin", "POST", "/admin/licenses/{other_license_id}/revoke"),
    "BulkForm": ("admin", "POST", "/admin/licenses/bulk"),
    "BulkPreviewForm": ("admin", "GET", "/admin/licenses/bulk"),
    "AuditFilterForm": ("admin", "GET", "/audit/"),
    "LoginForm": ("anonymous", "POST", "/auth/login"),
    "RegisterForm": ("anonymous", "POST", "/auth/register"),
    "ForgotPasswordForm": ("anonymous", "POST", "/auth/forgot-password"),
    "ConfirmationLinkForm": ("anonymous", "POST", "/auth/verify-email"),
    "ResetPasswordForm": ("anonymous", "POST", "/auth/reset-password/{reset_token}"),
    "ChangePasswordForm": ("student", "POST", "/auth/change-password"),
    "ProfileForm": ("student", "POST", "/account/profile"),
    "EmailChangeForm": ("student", "POST", "/account/email"),
    "AccountDeleteForm": ("student", "POST", "/account/delete"),
    "NotificationPreferencesForm": ("student", "POST", "/account/notifications"),
    "PasskeyNameForm": ("student", "POST", "/account/passkeys/{passkey_id}/rename"),
    "ClassCreateForm": ("instructor", "POST", "/dashboard/classes"),
    "ClassJoinForm": ("student", "POST", "/dashboard/join"),
    "ClassEditForm": ("instructor", "POST", "/dashboard/classes/{class_id}/edit"),
    "InviteForm": ("instructor", "POST", "/dashboard/classes/{class_id}/invite"),
    "InvitationRegisterForm": ("anonymous", "POST", "/dashboard/join/{invitation_token}"),
    "LevelSetForm": ("admin", "POST", "/admin/licenses/{other_license_id}/set-level"),
    "SpecializationSelectForm": ("student", "POST", "/licenses/select-specialization"),
    "UpgradeRequestForm": ("student", "POST", "/licenses/{license_id}/upgrade"),
    "RequestApproveForm": ("instructor", "POST", "/licenses/requests/{request_id}/approve"),
    "RequestRejectForm": ("instructor", "POST", "/licenses/requests/{request_id}/reject"),
    "VerifyForm": ("anonymous", "GET", "/verify"),
    "AchievementForm": ("admin", "POST", "/admin/achievements/{achievement_id}"),
    "ShowAchievementsForm": ("student", "POST", "/achievements/visibility"),
    "ClassSummaryForm": ("admin", "POST", "/admin/classes/{class_id}/achievement-summary"),
    "TwoFactorForm": ("anonymous", "POST", "/auth/two-factor"),
    "StepUpForm": ("student", "POST", "/auth/step-up"),
    "TotpConfirmForm": ("student", "POST", "/account/two-factor/totp/confirm"),
    "TwoFactorDisableForm": ("student", "POST", "/account/two-factor/disable"),
    "TwoFactorResetForm": ("admin", "POST", "/admin/users/{user_id}/reset-two-factor"),
    "CredentialVerifyForm": ("anonymous", "POST", "/verify/credential"),
}


def all_forms() -> dict[str, type]:
    for module in pkgutil.iter_modules(portal.__path__):
        try:
            importlib.import_module(f"portal.{module.name}.forms")
        except ModuleNotFoundError:
            continue
    found = {}
    todo = list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("portal."):
            found[cls.__name__] = cls
    return found


FORMS = all_forms()


def test_every_form_is_fuzzed():
    assert len(FORMS) >= 20
    missing = sorted(set(FORMS) - set(FORM_ROUTES))
    assert not missing, f"forms without a route in the fuzzer: {missing}"


# --- strategies ----------------------------------------------------------------------------

nasty_text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=0, max_size=300),
    st.sampled_from(["", " ", "0", "-1", "1e400", "NaN", "' OR 1=1 --", "<script>alert(1)</script>",
                     "{{7*7}}", "%s%s%n", "\u202e", "x" * 3000, "\ufeff", "null", "[]", "{}"]),
)


def strategy_for(field) -> st.SearchStrategy:
    if isinstance(field, wtf.BooleanField):
        return st.sampled_from(["y", "on", "", "false", "0", "1"]) | nasty_text
    if isinstance(field, (wtf.IntegerField, wtf.DecimalField, wtf.FloatField)):
        return st.integers(-(2**70), 2**70).map(str) | nasty_text
    if isinstance(field, wtf.DateTimeLocalField):
        as_text = st.datetimes(min_value=datetime(1, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M"))
        return as_text | nasty_text
    if isinstance(field, wtf.DateField):
        return st.dates(min_value=date(1, 1, 1)).map(lambda d: d.isoformat()) | nasty_text
    if isinstance(field, (wtf.SelectField, wtf.RadioField, wtf.SelectMultipleField)):
        choices = [str(c[0]) for c in (field.choices or []) if isinstance(c, (tuple, list))]
        return (st.sampled_from(choices) if choices else st.nothing()) | nasty_text
    if isinstance(field, wtf.EmailField):
        return st.emails().map(str) | nasty_text
    return nasty_text


def form_fields(app, form_name: str) -> list:
    cls = FORMS[form_name]
    with app.test_request_context("/", method="POST"):
        form = cls(meta={"csrf": False})
        return [f for f in form if f.type not in ("CSRFTokenField", "SubmitField")]


# --- consistency --------------------------------------------------------------------------


def assert_consistent(app):
    with app.app_context():
        result = audit_chain.verify(db.session)
        assert result.ok, result.summary()
        for lic in db.session.scalars(sa.select(License)):
            history = license_chain.verify_history(lic)
            assert history.ok, (lic.code, history.summary())
            assert state.check(lic), f"{lic.code}: signature does not match"
        created = set(db.session.scalars(
            sa.select(AuditEvent.resource_id).where(
                AuditEvent.resource_type == "user",
                AuditEvent.action.in_(("user.created", "user.registered")))))
        users = {str(i) for i in db.session.scalars(sa.select(User.id))}
        assert users <= created, f"accounts without a creation event: {users - created}"
        orphans = db.session.scalar(sa.select(sa.func.count()).select_from(UpgradeRequest).where(
            UpgradeRequest.license_id.is_not(None),
            ~sa.exists().where(License.id == UpgradeRequest.license_id)))
        assert orphans == 0
        no_history = db.session.scalar(sa.select(sa.func.count()).select_from(License).where(
            ~sa.exists().where(LicenseEvent.license_id == License.id)))
        assert no_history == 0


def _blueprint(form_name: str) -> str:
    return FORMS[form_name].__module__.split(".")[1] if form_name in FORMS else "unknown"


BLUEPRINTS = sorted({_blueprint(name) for name in FORM_ROUTES})


@pytest.mark.parametrize("blueprint", BLUEPRINTS)
def test_fuzz_forms(blueprint, app, build_world):
    """Every form of one blueprint, against one world; then the database is checked."""
    names = sorted(n for n in FORM_ROUTES if _blueprint(n) == blueprint)
    visitors = sorted({FORM_ROUTES[n][0] for n in names})
    world = build_world(visitors=visitors)
    for name in names:
        _fuzz_form(app, world, name)
    assert_consistent(app)


def _fuzz_form(app, world, form_name):
    visitor, method, template = FORM_ROUTES[form_name]
    ids = dict(world.ids, other_student_id=world.users["other_student"].id,
               other_instructor_id=world.users["other_instructor"].id)
    if "{reset_token}" in template:
        with app.app_context():
            holder = db.session.get(User, world.users["other_student"].id)
            ids["reset_token"] = tokens.make_token(holder)
    if "{invitation_token}" in template:
        with app.test_request_context():
            ids["invitation_token"] = invitations.token_for(
                db.session.get(ClassInvitation, world.ids["invitation_id"]))
    url = template.format(**ids)
    fields = form_fields(app, form_name)
    assert fields, form_name
    client = world.clients[visitor]
    data_strategy = st.fixed_dictionaries({f.name: strategy_for(f) for f in fields})

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large])
    @given(data=data_strategy, htmx=st.booleans())
    def fuzz(data, htmx):
        headers = {"HX-Request": "true"} if htmx else {}
        if method == "GET":
            response = client.get(url, query_string=data, headers=headers)
        else:
            response = client.post(url, data=data, headers=headers)
        response.close()
        assert response.status_code < 500, (form_name, response.status_code, data)

    fuzz()
