"""Classes in Spanish and Hungarian: the class list, the roster (a plural, status badges,
the pager), joining (a service's refusal, the welcome), the htmx code renewal, and a
staff page refused to a student."""
from __future__ import annotations

import re
from html import unescape

import pytest

from portal.models.user import Role
from tests.support.http import login

HTMX = {"HX-Request": "true"}


def text_of(response) -> str:
    """The page as a reader sees it: tags dropped, entities resolved, spaces collapsed."""
    html = response.get_data(as_text=True)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def teacher(make_user):
    return make_user(Role.INSTRUCTOR, name="Carla Rivera")


@pytest.fixture
def klass(teacher, make_specialization, make_class):
    spec = make_specialization("PLY", "Player")
    return make_class(teacher, spec, "Saturday group")


def test_the_roster_in_hungarian_and_spanish_with_its_plurals(client, teacher, klass, fill_class):
    fill_class(klass, 3)
    login(client, teacher)

    hu = client.get(f"/dashboard/classes/{klass.id}?lang=hu")
    page = text_of(hu)
    assert hu.status_code == 200 and '<html lang="hu"' in hu.get_data(as_text=True)
    assert "3 tanuló" in page and "Csatlakozási kód" in page and "Új kód" in page
    assert "Player · oktató: Carla Rivera" in page
    assert "A következő szint követelményei" in page
    # Status badges are named in the reader's language: level-1 licenses, pending requests.
    assert "1. szint Aktív" in page and "Függőben" in page
    assert "Keresés név vagy e-mail-cím alapján" in page

    es = client.get(f"/dashboard/classes/{klass.id}?lang=es")
    page = text_of(es)
    assert "3 estudiantes" in page and "Requisitos para el siguiente nivel" in page
    assert "Nivel 1 Activa" in page and "Pendiente" in page
    assert "Player · imparte Carla Rivera" in page
    # Search narrows the roster to one student: the singular form, with the query quoted.
    one = text_of(client.get(f"/dashboard/classes/{klass.id}", query_string={"q": "Pupil"},
                             headers=HTMX))
    assert "3 estudiantes coinciden con “Pupil”" in one
    name = re.search(r"Pupil \d{4}", one).group(0)
    single = text_of(client.get(f"/dashboard/classes/{klass.id}", query_string={"q": name},
                                headers=HTMX))
    assert f"1 estudiante coincide con “{name}”" in single
    none = text_of(client.get(f"/dashboard/classes/{klass.id}", query_string={"q": "zzz"},
                              headers=HTMX))
    assert "Ningún estudiante coincide con “zzz”." in none


def test_the_roster_pager_in_hungarian(client, teacher, klass, fill_class):
    fill_class(klass, 55)
    login(client, teacher)
    page = text_of(client.get(f"/dashboard/classes/{klass.id}?lang=hu"))
    assert "55 tanuló" in page and "1. oldal (összesen 2)" in page and "Következő" in page


def test_the_class_list_and_the_create_form_in_spanish(client, teacher, klass):
    login(client, teacher)
    response = client.get("/dashboard/classes?lang=es")
    page = text_of(response)
    assert response.status_code == 200
    assert "Mis clases" in page and "Crear una clase" in page and "Nombre de la clase" in page
    assert "Impartes Player: una clase puede ser de cualquiera de ellas." in page
    assert "Código de acceso" in page and "Saturday group" in page

    # A form error from the route and a required field, in Spanish too.
    refused = client.post("/dashboard/classes", data={"name": "", "specialization": "999999"})
    assert refused.status_code == 422
    assert "Este campo es obligatorio." in text_of(refused)


def test_joining_in_hungarian_and_spanish(client, make_user, klass):
    student = make_user(Role.STUDENT)
    login(client, student)
    page = text_of(client.get("/dashboard/join?lang=hu"))
    assert "Csatlakozás csoporthoz" in page and "Írd be a kódot, amelyet az oktatódtól kaptál." in page

    # A service's refusal (a lazy message) beside the field, in the reader's language.
    wrong = client.post("/dashboard/join", data={"join_code": "PLY-AAAA-AAAA-AAAA"})
    assert wrong.status_code == 422
    assert "Ez a csatlakozási kód nem működik." in text_of(wrong)
    malformed = client.post("/dashboard/join", data={"join_code": "nope"}, headers=HTMX)
    assert "A csatlakozási kód három betűből" in text_of(malformed)

    client.get("/dashboard/join?lang=es")
    joined = client.post("/dashboard/join", data={"join_code": klass.join_code}, follow_redirects=True)
    assert "Te damos la bienvenida a Saturday group, con Carla Rivera." in text_of(joined)
    mine = text_of(client.get("/dashboard/classes"))
    assert "Mis clases" in mine and "Salir" in mine and "Instructor(a)" in mine


def test_a_new_join_code_is_announced_in_hungarian(client, teacher, klass):
    login(client, teacher)
    client.get("/dashboard/classes?lang=hu")
    response = client.post(f"/dashboard/classes/{klass.id}/rotate-code", headers=HTMX)
    page = text_of(response)
    assert response.status_code == 200
    assert "Elkészült az új kód; a régi már nem működik." in page
    assert "Új csatlakozási kód" in page and "Saturday group" in page


def test_a_staff_page_refused_to_a_student_in_spanish(client, make_user, klass):
    login(client, make_user(Role.STUDENT))
    response = client.get(f"/dashboard/classes/{klass.id}?lang=es")
    page = text_of(response)
    assert response.status_code == 403
    assert "No permitido" in page and "Tu cuenta no tiene permiso para hacer esto." in page
    assert "Ir a la página de inicio" in page
