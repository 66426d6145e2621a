"""The catalogs are whole, and nothing a person reads escapes them.

- Every message marked in the source is in every language's catalog (``make
  translations`` was run), translated (no empty and no fuzzy entry, every plural form),
  with the same placeholders as the English.
- The pseudo-locale sweep: every page of the demo academy, opened by each kind of
  visitor in a locale whose every message is bracketed, shows no words outside the
  brackets but data (names, codes, dates).
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po

from portal.audit import actions
from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.seed.accounts import DEMO_PASSWORD
from portal.transparency import checkpoints as transparency_checkpoints
from tests.support import pseudo
from tests.support.http import login
from tests.support.pages import demo_pages, page_urls

CATALOGS = Path(__file__).resolve().parents[1] / "portal" / "translations"
TRANSLATED = [code for code in LANGUAGES if code != "en"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdif]|\{(\w+)\}")


def placeholders(text: str) -> set[str]:
    return {a or b for a, b in PLACEHOLDER.findall(text)}


@pytest.fixture(scope="module")
def source_messages():
    return pseudo.catalog_messages()


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_translated(code, source_messages):
    with open(CATALOGS / code / "LC_MESSAGES" / "messages.po", "rb") as f:
        catalog = read_po(f, locale=code)
    problems = []
    for key, where in sorted(source_messages.items(), key=str):
        msgid = key[0] if isinstance(key, tuple) else key
        entry = catalog.get(msgid)
        if entry is None:
            problems.append(f"not in the catalog (run make translations): {msgid!r} ({where[0]})")
            continue
        if entry.fuzzy:
            problems.append(f"fuzzy: {msgid!r}")
        forms = entry.string if isinstance(entry.string, (tuple, list)) else (entry.string,)
        if not all(forms) or len(forms) != (catalog.num_plurals if entry.pluralizable else 1):
            problems.append(f"untranslated: {msgid!r} ({where[0]})")
            continue
        sources = entry.id if isinstance(entry.id, (tuple, list)) else (entry.id,)
        expected = set().union(*(placeholders(s) for s in sources))
        for form in forms:
            if placeholders(form) - expected or (not entry.pluralizable and placeholders(form) != expected):
                problems.append(f"placeholders differ: {msgid!r} -> {form!r}")
    assert not problems, f"{len(problems)} problems in {code}:\n  " + "\n  ".join(problems)


def _data_strings() -> list[str]:
    """Every text value in the database: names, addresses, codes, notes and the keys and
    values in audit details, which pages show as they are; and the audit action names
    (machine values, shown as recorded, even those the demo never recorded)."""
    values: list[str] = []

    def walk(value):
        if isinstance(value, str):
            values.append(value)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, (sa.String, sa.Text, sa.JSON))]
        if not columns:
            continue
        for row in db.session.execute(sa.select(*columns)):
            for value in row:
                walk(value)
    values.extend(actions.all_actions())
    return values


# Shown as they are in every language: month and zone names in dates formatted for the
# pseudo-locale (English), the language names in the footer (each in itself), the brand.
AS_THEY_ARE = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug",
    "Sept", "Sep", "Oct", "Nov", "Dec", "am", "pm", "AM", "PM", "UTC", "GMT",
    *LANGUAGES.values(), "Portal",
    # The landing page's sample certificate shows a made-up license code.
    "PLY-7K3Q-9XZD-M2P4-R",
]


@pytest.mark.slow
def test_every_page_speaks_only_through_the_catalog(app_factory, tmp_path):
    folder = pseudo.build(tmp_path / "pseudo")
    app = app_factory(
        BABEL_TRANSLATION_DIRECTORIES=f"translations;{folder}",
        PORTAL_LANGUAGES={**LANGUAGES, pseudo.CODE: "Pseudo"},
    )
    demo = demo_pages(app)
    urls = page_urls(app, demo)
    with app.app_context():
        # The keys page shows the transparency log's key as it is: algorithm, hash, vkey.
        log_key = [v for v in transparency_checkpoints.published().values() if isinstance(v, str)]
        data = pseudo.data_pattern([*_data_strings(), *log_key, app.config["PORTAL_ACADEMY_NAME"],
                                    *AS_THEY_ARE, "Pseudo"])
    visitors = {"public": None, "student": demo["student"], "instructor": demo["instructor"],
                "admin": demo["admin"]}
    problems: dict[str, list[str]] = {}
    seen = set()
    for visitor, email in visitors.items():
        client = app.test_client()
        client.set_cookie("portal_lang", pseudo.CODE)
        if email:
            login(client, type("Visitor", (), {"email": email, "password": DEMO_PASSWORD}))
        else:  # half-way through the admin's login: the second step's page is the visitor's
            client.post("/auth/login", data={"email": demo["admin"], "password": DEMO_PASSWORD})
        for endpoint, paths in sorted(urls.items()):
            for path in paths:
                joiner = "&" if "?" in path else "?"
                response = client.get(f"{path}{joiner}lang={pseudo.CODE}")
                if response.status_code not in (200, 400) or response.mimetype != "text/html":
                    continue
                seen.add(endpoint)
                found = pseudo.leftovers(response.get_data(as_text=True), data)
                if found:
                    problems[f"{visitor} {path}"] = found
        if visitor == "public":
            response = client.get(f"/no-such-page?lang={pseudo.CODE}")
            assert response.status_code == 404
            if found := pseudo.leftovers(response.get_data(as_text=True), data):
                problems["public 404 page"] = found
    assert seen, "no page was swept"
    report = "\n".join(f"  {page}: {found[:12]}" for page, found in sorted(problems.items()))
    assert not problems, f"text outside the catalog on {len(problems)} pages:\n{report}"
