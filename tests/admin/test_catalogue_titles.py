"""The names of specializations and the titles of levels in each language.

An admin writes them beside the English ones (optional: empty falls back to English),
checked like the English name and audited; every reader then sees them in their own
language, and the certificate in its holder's; migration 0015 adds and removes them.
"""
from __future__ import annotations

import flask_babel
import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from portal import create_app
from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.models.catalogue import Level, Specialization
from portal.models.user import Role, User
from tests.support.app import TEST_SETTINGS
from tests.support.documents import pdf_text
from tests.support.http import login
from tests.test_migration_data import empty_database  # noqa: F401 (the fixture)

FORM = {"description": "", "max_level": "3", "min_age": "0", "validity_months": "", "auto_issue": "y"}


def spec_form(spec, **fields) -> dict:
    return {**FORM, "code": spec.code, "name": spec.name, "max_level": str(spec.max_level),
            "validity_months": str(spec.validity_months or ""), **fields}


def saved(app, model, row_id):
    with app.app_context():
        row = db.session.get(model, row_id)
        db.session.expunge(row)
        return row


def set_titles(app, model, row_id, titles: dict) -> None:
    with app.app_context():
        db.session.get(model, row_id).titles = titles
        db.session.commit()


def reader(app, make_user, locale: str | None, role: str = Role.STUDENT) -> User:
    user = make_user(role)
    with app.app_context():
        db.session.get(User, user.id).locale = locale
        db.session.commit()
    return user


def level_of(app, spec, number: int) -> Level | None:
    with app.app_context():
        level = db.session.scalar(sa.select(Level).where(Level.specialization_id == spec.id,
                                                         Level.number == number))
        if level is not None:
            db.session.expunge(level)
        return level


# --- the admin writes them ---------------------------------------------------------------


def test_an_admin_names_a_specialization_in_each_language(app, client, logged_admin, make_specialization,
                                                         audit_events):
    spec = make_specialization(name="Player")
    page = client.get(f"/admin/specializations/{spec.id}").get_data(as_text=True)
    assert 'name="name_es"' in page and 'name="name_hu"' in page and "Name (Magyar)" in page

    response = client.post(f"/admin/specializations/{spec.id}",
                           data=spec_form(spec, name_es="  Jugador ", name_hu="Játékos"))

    assert response.status_code == 303
    assert saved(app, Specialization, spec.id).titles == {"es": "Jugador", "hu": "Játékos"}
    event = audit_events("specialization.updated")[-1]
    assert event.details["before"]["titles"] == {}
    assert event.details["after"]["titles"] == {"es": "Jugador", "hu": "Játékos"}
    assert event.details["changed"] == ["titles"]
    page = client.get(f"/admin/specializations/{spec.id}").get_data(as_text=True)
    assert 'value="Jugador"' in page and 'value="Játékos"' in page


def test_a_new_specialization_gets_its_titles_at_once(app, client, logged_admin, audit_events):
    response = client.post("/admin/specializations/new", data={
        **FORM, "code": "sky", "name": "Skydiving", "name_es": "Paracaidismo", "name_hu": "",
    })
    assert response.status_code == 303
    with app.app_context():
        spec = db.session.scalar(sa.select(Specialization).where(Specialization.code == "SKY"))
        assert spec.titles == {"es": "Paracaidismo"}
        # Its levels are only numbered so far, and read so in every language.
        assert [lv.title_in("hu") for lv in spec.levels] == ["1. szint", "2. szint", "3. szint"]
        assert spec.levels[0].title_in("es") == "Nivel 1" and spec.levels[0].title_in("en") == "Level 1"
    assert audit_events("specialization.created")[-1].details["after"]["titles"] == {"es": "Paracaidismo"}


@pytest.mark.parametrize(("fields", "error"), [
    ({"name_hu": "   "}, "leave this empty to show the English one"),
    ({"name_es": "J" * 81}, "Field cannot be longer than 80 characters."),
    ({"name_hu": "edző"}, "Another specialization is already called edző in this language."),
    # An untranslated specialization reads as its English name: that name is taken too.
    ({"name_es": "COACH"}, "Another specialization is already called COACH in this language."),
])
def test_titles_are_checked_like_the_name(app, client, logged_admin, make_specialization, fields, error):
    spec = make_specialization(name="Player")
    other = make_specialization(name="Coach")
    set_titles(app, Specialization, other.id, {"hu": "Edző"})

    response = client.post(f"/admin/specializations/{spec.id}", data=spec_form(spec, **fields))

    assert response.status_code == 422
    assert error in response.get_data(as_text=True)
    assert saved(app, Specialization, spec.id).titles == {}


def test_an_emptied_title_falls_back_to_english(app, client, logged_admin, make_specialization, make_user,
                                                make_license):
    spec = make_specialization(name="Player")
    set_titles(app, Specialization, spec.id, {"es": "Jugador", "hu": "Játékos"})

    response = client.post(f"/admin/specializations/{spec.id}",
                           data=spec_form(spec, name_es="Jugador", name_hu=""))

    assert response.status_code == 303
    spec = saved(app, Specialization, spec.id)
    assert spec.titles == {"es": "Jugador"}
    assert spec.name_in("hu") == "Player" and spec.name_in("es") == "Jugador"
    student = reader(app, make_user, "hu")
    make_license(student, spec, 1)
    other = app.test_client()
    login(other, student)
    assert "Player" in other.get("/licenses/").get_data(as_text=True)


def test_an_admin_titles_levels_in_each_language(app, client, logged_admin, make_specialization,
                                                 audit_events):
    spec = make_specialization(name="Player", max_level=2)
    level = level_of(app, spec, 2)

    response = client.post(f"/admin/levels/{level.id}", data={
        "title": "Developing", "description": "", "title_es": "En desarrollo", "title_hu": "Fejlődő"})

    assert response.status_code == 303
    assert saved(app, Level, level.id).titles == {"es": "En desarrollo", "hu": "Fejlődő"}
    event = audit_events("specialization.updated")[-1]
    assert event.details["change"] == "level_updated"
    assert event.details["before"]["titles"] == {} and event.details["before"]["title"] == "Level 2"
    assert event.details["after"]["titles"] == {"es": "En desarrollo", "hu": "Fejlődő"}

    # Refused: the page comes back (after a redirect, without htmx) with the error beside it.
    response = client.post(f"/admin/specializations/{spec.id}/levels", data={
        "title": "Expert", "description": "", "title_es": "Experto", "title_hu": " "}, follow_redirects=True)
    assert "leave this empty to show the English one" in response.get_data(as_text=True)
    assert level_of(app, spec, 3) is None
    response = client.post(f"/admin/specializations/{spec.id}/levels", data={
        "title": "Expert", "description": "", "title_es": "Experto", "title_hu": ""})
    assert response.status_code == 303
    assert level_of(app, spec, 3).titles == {"es": "Experto"}
    assert audit_events("specialization.updated")[-1].details["after"]["titles"] == {"es": "Experto"}

    page = client.get(f"/admin/specializations/{spec.id}").get_data(as_text=True)
    assert 'value="En desarrollo"' in page and 'value="Fejlődő"' in page


def test_the_admin_form_speaks_the_admins_language(app, client, login_as, make_specialization):
    spec = make_specialization(name="Player")
    admin = login_as(Role.ADMIN)
    with app.app_context():
        db.session.get(User, admin.id).locale = "hu"
        db.session.commit()
    client.post(f"/admin/specializations/{spec.id}", data=spec_form(spec, name_hu="Játékos"))
    response = client.post(f"/admin/specializations/{spec.id}", data=spec_form(spec, name_es="   "))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Név (Español)" in page
    assert "Írj be egy címet, vagy hagyd üresen, és az angol jelenik meg." in page


# --- every reader reads them in their language ---------------------------------------------


@pytest.fixture
def titled(app, make_specialization):
    spec = make_specialization(name="Player", max_level=3)
    set_titles(app, Specialization, spec.id, {"es": "Jugador", "hu": "Játékos"})
    for number, titles in ((1, {"es": "Fundamentos", "hu": "Alapok"}), (2, {"es": "En desarrollo"})):
        with app.app_context():
            level = db.session.scalar(sa.select(Level).where(Level.specialization_id == spec.id,
                                                             Level.number == number))
            level.title = {1: "Foundations", 2: "Developing"}[number]
            level.titles = titles
            db.session.commit()
    return saved(app, Specialization, spec.id)


@pytest.mark.parametrize(("locale", "name", "not_shown"), [
    ("hu", "Játékos", "Jugador"), ("es", "Jugador", "Játékos"), (None, "Player", "Jugador"),
])
def test_a_student_reads_the_specialization_in_their_language(app, client, make_user, make_license, titled,
                                                              locale, name, not_shown):
    student = reader(app, make_user, locale)
    make_license(student, titled, 1)
    login(client, student)
    for path in ("/dashboard", "/licenses/"):
        page = client.get(path).get_data(as_text=True)
        assert name in page, path
        assert not_shown not in page, path


def test_the_helpers_follow_the_language_of_the_moment(app, titled):
    with app.test_request_context("/?lang=hu"):
        spec = db.session.get(Specialization, titled.id)
        levels = {lv.number: lv for lv in spec.levels}
        assert spec.local_name == "Játékos"
        assert [levels[n].local_title for n in (1, 2, 3)] == ["Alapok", "Developing", "3. szint"]
        with flask_babel.force_locale("es"):
            assert spec.local_name == "Jugador"
            assert [levels[n].local_title for n in (1, 2, 3)] == ["Fundamentos", "En desarrollo", "Nivel 3"]
        assert Level.numbered_in(3, "es") == "Nivel 3" and Level.numbered_in(3, "hu") == "3. szint"
    with app.app_context():  # outside a request: English
        assert db.session.get(Specialization, titled.id).local_name == "Player"


def test_the_certificate_uses_the_holders_language(app, client, login_as, make_user, make_license, titled):
    holder = reader(app, make_user, "hu")
    license = make_license(holder, titled, 1)
    login_as(Role.ADMIN)  # an English-reading admin downloads it

    text = pdf_text(client.get(f"/licenses/{license.id}/certificate.pdf").data)

    assert "Játékos" in text and "Alapok" in text
    assert "Player" not in text and "Foundations" not in text


# --- migration 0015 ------------------------------------------------------------------------

specializations_before = sa.table(
    "specializations", sa.column("id"), sa.column("code"), sa.column("name"), sa.column("description"),
    sa.column("max_level"), sa.column("min_age"), sa.column("auto_issue", sa.Boolean()),
    sa.column("created_at", UTCDateTime()),
)
levels_before = sa.table("levels", sa.column("id"), sa.column("specialization_id"), sa.column("number"),
                         sa.column("title"), sa.column("description"))


def test_migration_adds_empty_titles_and_takes_them_away(empty_database, tmp_path):  # noqa: F811
    app = create_app({**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": empty_database,
                      "INSTANCE_PATH": str(tmp_path / "instance")})
    with app.app_context():
        script = ScriptDirectory.from_config(flask_migrate.Migrate(app, db).get_config())
        before = script.get_revision("0015").down_revision
        flask_migrate.upgrade(revision=before)
        db.session.execute(sa.insert(specializations_before), [
            {"id": 1, "code": "PLY", "name": "Player", "description": "", "max_level": 2, "min_age": 0,
             "auto_issue": True, "created_at": utcnow()}])
        db.session.execute(sa.insert(levels_before), [
            {"id": 1, "specialization_id": 1, "number": 1, "title": "Foundations", "description": ""},
            {"id": 2, "specialization_id": 1, "number": 2, "title": "Level 2", "description": ""}])
        db.session.commit()

        flask_migrate.upgrade(revision="0015")
        spec = db.session.get(Specialization, 1)
        assert spec.titles == {} and [lv.titles for lv in spec.levels] == [{}, {}]
        assert spec.name_in("hu") == "Player" and spec.levels[0].title_in("es") == "Foundations"
        spec.titles = {"hu": "Játékos"}
        spec.levels[0].titles = {"es": "Fundamentos"}
        db.session.commit()
        db.session.expire_all()
        assert db.session.get(Specialization, 1).titles == {"hu": "Játékos"}
        db.session.remove()

        flask_migrate.downgrade(revision=before)
        for table in ("specializations", "levels"):
            assert "titles" not in {c["name"] for c in sa.inspect(db.engine).get_columns(table)}
        assert db.session.execute(sa.text("SELECT name FROM specializations")).scalars().all() == ["Player"]
        assert db.session.execute(sa.text("SELECT title FROM levels ORDER BY number")).scalars().all() == [
            "Foundations", "Level 2"]
        db.session.remove()
        db.engine.dispose()


def test_audit_sentences_name_the_specialization_in_the_readers_language(app, client, login_as, titled,
                                                                         audit_events):
    admin = login_as(Role.ADMIN)
    client.post(f"/admin/specializations/{titled.id}/archive")
    [event] = audit_events("specialization.archived")
    with app.app_context():
        db.session.get(User, admin.id).locale = "es"
        db.session.commit()
    page = client.get(f"/audit/resource/specialization/{titled.id}").get_data(as_text=True)
    assert "Jugador" in page
