"""The notifications of the features built beside them: a level corrected by an admin, an
invitation to a class, an achievement earned (SPEC §10 categories, §15, §16)."""
from __future__ import annotations

from portal.achievements import rules
from portal.classes import invitations
from portal.extensions import db
from portal.licenses import services as lifecycle
from portal.models import License, User
from portal.models.klass import Klass
from portal.models.notification import Category
from tests.notifications.helpers import notifications_of


def test_a_level_set_by_an_admin_tells_the_holder(app, make_user, make_specialization, make_license):
    student, admin = make_user("student"), make_user("admin")
    license = make_license(student, make_specialization(max_level=3))
    with app.app_context():
        lifecycle.set_level(db.session.get(License, license.id), 3, db.session.get(User, admin.id),
                            "records were wrong")
        db.session.commit()
    [told] = [n for n in notifications_of(app, student) if n.kind == "license_level_set"]
    assert told.category == Category.LICENSE_STATUS and told.data["level"] == 3


def test_an_invitation_tells_a_student_who_has_an_account_and_mails_once(
        app, make_user, make_specialization, make_class):
    instructor, student = make_user("instructor"), make_user("student", email="ann.invited@example.org")
    klass = make_class(instructor, make_specialization())
    with app.app_context():
        invitations.invite(db.session.get(Klass, klass.id),
                           [invitations.Entry(student.email), invitations.Entry("new.person@example.org")],
                           actor=db.session.get(User, instructor.id), mail_them=False)
        db.session.commit()
    [told] = notifications_of(app, student)
    assert told.kind == "class_invitation" and told.data == {"class_id": klass.id, "class_name": klass.name}
    assert told.delivery is None  # the invitation's own mail carries the link: no second mail


def test_an_achievement_earned_is_announced_unless_the_student_hides_them(
        app, make_user, make_specialization, make_license, make_achievement):
    make_achievement("First license", rules.LICENSE, xp=50)
    shown, hidden = make_user("student"), make_user("student")
    with app.app_context():
        db.session.get(User, hidden.id).show_achievements = False
        db.session.commit()
    spec = make_specialization()
    make_license(shown, spec)
    make_license(hidden, spec)
    [told] = [n for n in notifications_of(app, shown) if n.kind == "achievement_earned"]
    assert told.category == Category.ACHIEVEMENTS and told.data["xp"] == 50 and told.delivery is None
    assert [n for n in notifications_of(app, hidden) if n.kind == "achievement_earned"] == []
