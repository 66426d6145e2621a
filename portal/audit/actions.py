"""Audit action names: dotted, lower case, one constant each."""

# auth
LOGIN = "auth.login"
LOGIN_FAILED = "auth.login_failed"
LOGOUT = "auth.logout"
LOCKOUT = "auth.lockout"
PASSWORD_RESET_REQUESTED = "auth.password_reset_requested"
PASSWORD_RESET = "auth.password_reset"
PASSWORD_CHANGED = "auth.password_changed"
SESSION_REVOKED = "auth.session_revoked"
SECOND_FACTOR_FAILED = "auth.second_factor_failed"
STEP_UP = "auth.step_up"
TWO_FACTOR_ENABLED = "auth.two_factor_enabled"
TWO_FACTOR_DISABLED = "auth.two_factor_disabled"
TWO_FACTOR_RESET = "auth.two_factor_reset"
RECOVERY_CODES_REGENERATED = "auth.recovery_codes_regenerated"
RECOVERY_CODE_USED = "auth.recovery_code_used"
TRUSTED_DEVICE_ADDED = "auth.trusted_device_added"
TRUSTED_DEVICE_REVOKED = "auth.trusted_device_revoked"
PASSKEY_ADDED = "auth.passkey_added"
PASSKEY_RENAMED = "auth.passkey_renamed"
PASSKEY_REMOVED = "auth.passkey_removed"
PASSKEY_REFUSED = "auth.passkey_refused"  # a registration that failed its checks

# users
USER_REGISTERED = "user.registered"
USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_ROLE_CHANGED = "user.role_changed"
USER_STATUS_CHANGED = "user.status_changed"
USER_CONSENT_RECORDED = "user.consent_recorded"
USER_UNLOCKED = "user.unlocked"
USER_SESSIONS_ENDED = "user.sessions_ended"
USER_EMAIL_CONFIRMED = "user.email_confirmed"
USER_CONFIRMATION_REQUESTED = "user.confirmation_requested"
USER_REGISTRATION_REPEATED = "user.registration_repeated"
USER_UNCONFIRMED_REMOVED = "user.unconfirmed_removed"
USER_SPECIALIZATIONS_CHANGED = "user.specializations_changed"
USER_LANGUAGE_CHANGED = "user.language_changed"
USER_PROFILE_UPDATED = "user.profile_updated"
USER_EMAIL_CHANGE_REQUESTED = "user.email_change_requested"
USER_EMAIL_CHANGED = "user.email_changed"
USER_EMAIL_CHANGE_CANCELLED = "user.email_change_cancelled"
USER_DETAILS_CORRECTED = "user.details_corrected"
USER_CONSENT_WITHDRAWN = "user.consent_withdrawn"
USER_ARCHIVED = "user.archived"
USER_RESTORED = "user.restored"
LICENSE_HOLDER_RENAMED = "license.holder_renamed"
LICENSE_CONSENT_REVIEW = "license.consent_review"

# catalogue
SPECIALIZATION_SELECTED = "specialization.selected"
SPECIALIZATION_CREATED = "specialization.created"
SPECIALIZATION_UPDATED = "specialization.updated"
SPECIALIZATION_ARCHIVED = "specialization.archived"
SPECIALIZATION_DELETED = "specialization.deleted"
REQUIREMENT_CONFIRMED = "requirement.confirmed"
REQUIREMENT_UNCONFIRMED = "requirement.unconfirmed"

# licenses
LICENSE_ISSUED = "license.issued"
LICENSE_UPGRADE_REQUESTED = "license.upgrade_requested"
LICENSE_UPGRADE_APPROVED = "license.upgrade_approved"
LICENSE_UPGRADE_REJECTED = "license.upgrade_rejected"
LICENSE_UPGRADE_WITHDRAWN = "license.upgrade_withdrawn"
LICENSE_SUSPENDED = "license.suspended"
LICENSE_REVOKED = "license.revoked"
LICENSE_REINSTATED = "license.reinstated"
LICENSE_RENEWED = "license.renewed"
LICENSE_LEVEL_SET = "license.level_set"
LICENSE_EXPIRED = "license.expired"
LICENSE_CERTIFICATE_DOWNLOADED = "license.certificate_downloaded"
LICENSE_CREDENTIAL_DOWNLOADED = "license.credential_downloaded"
KEYS_ROTATED = "keys.rotated"

# classes
CLASS_CREATED = "class.created"
CLASS_ARCHIVED = "class.archived"
CLASS_UPDATED = "class.updated"
CLASS_UNARCHIVED = "class.unarchived"
CLASS_INVITED = "class.invited"
CLASS_INVITATION_RESENT = "class.invitation_resent"
CLASS_INVITATION_WITHDRAWN = "class.invitation_withdrawn"
CLASS_CODE_ROTATED = "class.code_rotated"
CLASS_JOINED = "class.joined"
CLASS_JOIN_FAILED = "class.join_failed"  # aggregated per source and hour (portal.errors)
CLASS_LEFT = "class.left"
CLASS_STUDENT_REMOVED = "class.student_removed"

# achievements (an award itself is derived data, rebuilt from history: not an event)
ACHIEVEMENT_CREATED = "achievement.created"
ACHIEVEMENT_UPDATED = "achievement.updated"
ACHIEVEMENT_ARCHIVED = "achievement.archived"
ACHIEVEMENT_RESTORED = "achievement.restored"
ACHIEVEMENT_DELETED = "achievement.deleted"
ACHIEVEMENTS_REBUILT = "achievement.rebuilt"  # the rebuild added missing awards
USER_ACHIEVEMENTS_SHOWN = "user.achievements_shown"  # the person showed or hid theirs
CLASS_ACHIEVEMENT_SUMMARY = "class.achievement_summary"  # an admin turned the summary on or off

# the admin overview's kept figures (portal/stats/summary.py)
STATS_RECOUNTED = "stats.recounted"  # a recount corrected kept figures that had drifted

# jobs
JOB_STARTED = "job.started"
JOB_FINISHED = "job.finished"
JOB_RESUMED = "job.resumed"
JOB_OVERRIDE = "job.override"  # an admin overrules held-back students for a bulk job

# notifications
NOTIFICATION_PREFERENCE_CHANGED = "notification.preference_changed"
NOTIFICATION_UNSUBSCRIBED = "notification.unsubscribed"

# audit trail itself
AUDIT_EXPORTED = "audit.exported"
AUDIT_VERIFIED = "audit.verified"
AUDIT_CHECKPOINT = "audit.checkpoint"
AUDIT_RESEALED = "audit.resealed"  # migration 0019: the chain moved to the privacy form

# privacy (SPEC §11)
PRIVACY_EXPORT_REQUESTED = "privacy.export_requested"
PRIVACY_EXPORT_DOWNLOADED = "privacy.export_downloaded"
PRIVACY_ERASED = "privacy.erased"
PRIVACY_ERASURE_REFUSED = "privacy.erasure_refused"
PRIVACY_PURGED = "privacy.purged"

# access
ACCESS_DENIED = "access.denied"
REQUEST_FAILED = "request.failed"  # a 5xx answer (portal.errors)


def all_actions() -> list[str]:
    return sorted(v for k, v in globals().items() if k.isupper() and isinstance(v, str))


def grouped() -> dict[str, list[str]]:
    """Actions grouped by their prefix, for the viewer's multi-select."""
    groups: dict[str, list[str]] = {}
    for action in all_actions():
        groups.setdefault(action.split(".", 1)[0], []).append(action)
    return groups
