"""All models, imported here so that Alembic and the app see every table."""
from portal.models.achievement import Achievement, Award, CertificateVerification
from portal.models.audit import AuditEvent, Outcome
from portal.models.catalogue import (
    Level,
    Requirement,
    RequirementCompletion,
    Specialization,
)
from portal.models.consent import ConsentMethod, ConsentRecord
from portal.models.credential import Credential
from portal.models.job import Job, JobItem, JobStatus
from portal.models.klass import (
    ClassInvitation,
    ClassMembership,
    InstructorSpecialization,
    InvitationState,
    Klass,
    ReplacedJoinCode,
)
from portal.models.license import (
    License,
    LicenseEvent,
    LicenseStatus,
    RequestStatus,
    UpgradeRequest,
)
from portal.models.notification import (
    Category,
    DeliveryStatus,
    MailDelivery,
    MailMode,
    Notification,
    NotificationPreference,
)
from portal.models.passkey import Passkey, PasskeyChallenge
from portal.models.privacy import AuditKey
from portal.models.summary import DashboardCount
from portal.models.transparency import TransparencyCheckpoint, TransparencyLeaf, TransparencyNode
from portal.models.user import (
    LoginThrottle,
    RecoveryCode,
    Role,
    TrustedDevice,
    User,
    UserSession,
    UserStatus,
)

__all__ = [
    "Achievement",
    "AuditEvent",
    "AuditKey",
    "Award",
    "CertificateVerification",
    "DashboardCount",
    "ClassInvitation",
    "Category",
    "DeliveryStatus",
    "MailDelivery",
    "MailMode",
    "Notification",
    "NotificationPreference",
    "ClassMembership",
    "ConsentMethod",
    "ConsentRecord",
    "Credential",
    "InstructorSpecialization",
    "InvitationState",
    "Job",
    "JobItem",
    "JobStatus",
    "Klass",
    "Level",
    "License",
    "LicenseEvent",
    "LicenseStatus",
    "LoginThrottle",
    "Outcome",
    "Passkey",
    "PasskeyChallenge",
    "RecoveryCode",
    "ReplacedJoinCode",
    "RequestStatus",
    "Requirement",
    "RequirementCompletion",
    "Role",
    "Specialization",
    "TrustedDevice",
    "TransparencyCheckpoint",
    "TransparencyLeaf",
    "TransparencyNode",
    "UpgradeRequest",
    "User",
    "UserSession",
    "UserStatus",
]
