"""Demo specializations, levels and requirements."""

from __future__ import annotations

from portal.extensions import db
from portal.models.catalogue import Level, Requirement, Specialization

# code, name, description, min_age, validity_months, auto_issue, levels:
# [(title, [requirement titles])]
CATALOGUE = [
    (
        "PLY",
        "Player",
        "Playing the game: technique, tactics, fitness and fair play.",
        0,
        24,
        True,
        [
            (
                "Foundations",
                ["Attend 10 training sessions", "Basic ball control test", "Laws of the game quiz"],
            ),
            ("Developing", ["Passing accuracy test (70%)", "Play 5 supervised matches"]),
            ("Intermediate", ["Positional play assessment", "Beep test level 8", "Play 10 league matches"]),
            ("Competent", ["Set-piece routines", "Match analysis presentation"]),
            ("Advanced", ["Beep test level 11", "Captain a match", "Tactical periodisation quiz"]),
            ("Expert", ["Play 20 competitive matches", "Mentor a level-2 player"]),
            ("Elite", ["Regional selection trial", "Video review of own season", "Nutrition plan"]),
            ("Master", ["National-level match", "Academy panel interview"]),
        ],
    ),
    (
        "COA",
        "Coach",
        "Leading training sessions and teams safely and well.",
        18,
        36,
        True,
        [
            ("Assistant coach", ["Safeguarding course", "First aid certificate", "Assist 10 sessions"]),
            ("Session coach", ["Plan and lead 5 sessions", "Observed session (pass)"]),
            ("Team coach", ["Coach a team for one season", "Match-day management assessment"]),
            ("Senior coach", ["Season plan review", "Mentor an assistant coach", "Video feedback module"]),
            ("Head coach", ["Academy panel interview", "Lead a coaching workshop"]),
        ],
    ),
    (
        "INT",
        "Internship",
        "Work placements in the academy's clubs; an admin admits each intern.",
        0,
        None,
        False,
        [
            ("Observer", ["Placement agreement signed", "Induction day"]),
            ("Contributor", ["Complete 80 placement hours", "Supervisor mid-term review"]),
            ("Graduate", ["Final project presentation", "Supervisor final report", "Reflective essay"]),
        ],
    ),
]


# The Spanish and Hungarian titles of every name and level title above (admin editable).
TITLES = {
    "Player": {"es": "Jugador", "hu": "Játékos"},
    "Foundations": {"es": "Fundamentos", "hu": "Alapok"},
    "Developing": {"es": "En desarrollo", "hu": "Fejlődő"},
    "Intermediate": {"es": "Intermedio", "hu": "Középhaladó"},
    "Competent": {"es": "Competente", "hu": "Gyakorlott"},
    "Advanced": {"es": "Avanzado", "hu": "Haladó"},
    "Expert": {"es": "Experto", "hu": "Szakértő"},
    "Elite": {"es": "Élite", "hu": "Elit"},
    "Master": {"es": "Maestro", "hu": "Mester"},
    "Coach": {"es": "Entrenador", "hu": "Edző"},
    "Assistant coach": {"es": "Entrenador asistente", "hu": "Segédedző"},
    "Session coach": {"es": "Entrenador de sesiones", "hu": "Foglalkozásvezető edző"},
    "Team coach": {"es": "Entrenador de equipo", "hu": "Csapatedző"},
    "Senior coach": {"es": "Entrenador sénior", "hu": "Szenior edző"},
    "Head coach": {"es": "Entrenador principal", "hu": "Vezetőedző"},
    "Internship": {"es": "Prácticas profesionales", "hu": "Szakmai gyakorlat"},
    "Observer": {"es": "Observador", "hu": "Megfigyelő"},
    "Contributor": {"es": "Colaborador", "hu": "Munkatárs"},
    "Graduate": {"es": "Graduado", "hu": "Végzett gyakornok"},
}


def seed(ctx) -> None:
    ctx.timeline.at(ctx.timeline.ago(days=430), lambda: create(ctx))


def create(ctx) -> None:
    """Add the catalogue now (the scale seeder uses it too)."""
    specializations: dict[str, Specialization] = {}
    for code, name, description, min_age, validity, auto_issue, levels in CATALOGUE:
        spec = Specialization(
            code=code,
            name=name,
            description=description,
            max_level=len(levels),
            min_age=min_age,
            validity_months=validity,
            auto_issue=auto_issue,
            titles=TITLES[name],
        )
        for number, (title, requirements) in enumerate(levels, start=1):
            level = Level(number=number, title=title, titles=TITLES[title])
            level.requirements = [Requirement(position=i, title=text) for i, text in enumerate(requirements)]
            spec.levels.append(level)
        db.session.add(spec)
        specializations[code] = spec
    db.session.flush()
    ctx.objects["specializations"] = specializations
