"""What the stages of ``seed scale`` share: the size, names, bulk inserts and the builder."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from portal.db import utcnow
from portal.extensions import db
from portal.models.catalogue import Level, Specialization
from portal.models.user import User
from portal.seed import SeedContext, catalogue

DOMAIN = "scale.test"
PASSWORD = "scale-academy-2026"
BATCH = 5000

FIRST = [
    'Ada', 'Aiko', 'Amara', 'Ana', 'Ben', 'Bruno', 'Carla', 'Chen', 'Chloé', 'Dara', 'David',
    'Dmitri', 'Elif', 'Eli', 'Emma', 'Fatima', 'Felix', 'Finn', 'Gabriel', 'Hana', 'Hugo', 'Ines',
    'Ivo', 'Jana', 'Jonas', 'Jun', 'Kai', 'Karim', 'Lea', 'Leila', 'Liam', 'Lucas', 'Maya', 'Mateo',
    'Mia', 'Nadia', 'Noah', 'Nora', 'Olga', 'Omar', 'Paula', 'Pedro', 'Priya', 'Quentin', 'Rosa',
    'Sami', 'Sofía', 'Tariq', 'Tomás', 'Una', 'Vera', 'Wei', 'Xavier', 'Yara', 'Yusuf', 'Zoe',
    'Zainab', 'Björn', 'Ngozi', 'Siobhán',
]
LAST = [
    'Adeyemi', 'Andersen', 'Bauer', 'Becker', 'Costa', 'Dubois', 'Dvořák', 'Eriksson', 'Fernández',
    'Fischer', 'García', 'Haddad', 'Hansen', 'Ivanova', 'Jansen', 'Kaur', 'Kowalski', 'Kim',
    'Lindqvist', 'López', 'Martin', 'Martínez', 'Meyer', 'Moreau', 'Müller', 'Nakamura', 'Nguyen',
    'Novak', "O'Connor", 'Okafor', 'Olsen', 'Park', 'Patel', 'Petrov', 'Popescu', 'Quinn', 'Rossi',
    'Rivera', 'Santos', 'Schmidt', 'Silva', 'Singh', 'Sato', 'Tanaka', 'Torres', 'Varga', 'Wagner',
    'Wang', 'Weber', 'Yilmaz', 'Zhang', 'Zielinski', 'Abara', 'Brennan', 'Castillo', 'Demir',
    'Edwards', 'Fontaine', 'Gallagher',
]
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 Chrome/130.0 Mobile Safari/537.36",
)
SEASONS = ("Autumn", "Winter", "Spring", "Summer")


class ScaleError(Exception):
    """The scale data cannot be added (e.g. it is already there)."""


@dataclass
class Size:
    students: int
    audit_events: int
    instructors: int | None = None
    classes: int | None = None
    licenses: int | None = None
    pending: int | None = None
    admins: int = 3

    def __post_init__(self) -> None:
        # Proportional to the students: 100,000 → 200 instructors, 2,000 classes,
        # 150,000 licenses and 5,000 pending requests.
        n = self.students
        if self.instructors is None:
            self.instructors = max(1, n // 500)
        if self.classes is None:
            self.classes = max(1, n // 50)
        if self.licenses is None:
            self.licenses = n * 3 // 2
        if self.pending is None:
            self.pending = max(1, n // 20)


def email(kind: str, number: int) -> str:
    """The address of a scale account, e.g. ``email("student", 1)``: log in with PASSWORD."""
    width = {"student": 6, "instructor": 4, "admin": 1}[kind]
    return f"{kind}{number:0{width}d}@{DOMAIN}"


def has_scale_data() -> bool:
    return db.session.scalar(
        sa.select(User.id).where(User.email.like(f"%@{DOMAIN}")).limit(1)
    ) is not None


def noop(message: str) -> None:
    pass


def insert(model, rows: list[dict]) -> None:
    table = model.__table__
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(table), rows[start : start + BATCH])


def zipf_cum(n: int, s: float) -> list[float]:
    """Cumulative weights 1/k^s for ranks 1..n: a few heavy users, a long quiet tail."""
    total, cum = 0.0, []
    for k in range(1, n + 1):
        total += 1.0 / k**s
        cum.append(total)
    return cum


def unique(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    seen, out = set(), []
    for row in rows:
        key = tuple(row[k] for k in keys)
        if key not in seen:
            seen.add(key)
            out.append(row)
    return out


def move_sequence(model) -> None:
    """After rows with explicit ids: PostgreSQL's id sequence continues after the largest."""
    if db.session.get_bind().dialect.name == "postgresql":
        table = model.__tablename__
        db.session.execute(sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
        ))


class Builder:
    """The state the stages share: what each made, for the next ones to use."""

    def __init__(self, size: Size, seed: int, echo: Callable[[str], None]):
        self.size = size
        self.rng = random.Random(seed)
        self.echo = echo
        self.now = utcnow()
        self.counts: dict[str, int] = {}

    # -- catalogue --------------------------------------------------------------------

    def catalogue(self) -> None:
        specs = self._specs()
        if not specs:
            catalogue.create(SeedContext())
            db.session.commit()
            specs = self._specs()
        self.specs = [s for s in specs if s.archived_at is None]
        if not self.specs:
            raise ScaleError("Every specialization is archived; scale data needs at least one.")
        # Requirement ids per (specialization id, level number).
        self.requirements: dict[tuple[int, int], list[int]] = {
            (spec.id, level.number): [r.id for r in level.requirements]
            for spec in self.specs for level in spec.levels
        }
        # Popularity: the first specialization (Player in the demo catalogue) draws most.
        self.spec_weights = [max(1, 6 - 2 * i) for i in range(len(self.specs))]

    def _specs(self) -> list[Specialization]:
        return list(db.session.scalars(
            sa.select(Specialization)
            .options(selectinload(Specialization.levels).selectinload(Level.requirements))
            .order_by(Specialization.id)
        ))
