"""Demo achievements: the academy's set (the earlier system's 10 XP first login and 50 XP
first license among them), defined early so the year's events award them as they happen;
maya's certificate checked by three visitors; liam's license renewed; one achievement
archived after people earned it; emma hides hers; the Saturday squad's instructor may see
its summary. At the end the rebuild gives what the history written straight into the trail
(everyday logins, the demo's confirmations) earned."""

from __future__ import annotations

from portal.achievements import rules, services
from portal.licenses import services as licenses
from portal.licenses import verification

# title, {language: title}, description, icon, XP, trigger, count, specialization code
SET = [
    (
        "First login",
        {"es": "Primer inicio de sesión", "hu": "Első bejelentkezés"},
        "You logged in to Portal for the first time.",
        "key",
        10,
        rules.LOGIN,
        1,
        None,
    ),
    (
        "First license",
        {"es": "Primera licencia", "hu": "Első licenc"},
        "You received your first license.",
        "shield",
        50,
        rules.LICENSE,
        1,
        None,
    ),
    (
        "Level 2",
        {"es": "Nivel 2", "hu": "2. szint"},
        "You reached level 2 in a specialization.",
        "medal",
        30,
        rules.LEVEL,
        2,
        None,
    ),
    (
        "Player level 4",
        {"es": "Jugador, nivel 4", "hu": "Játékos, 4. szint"},
        "You reached level 4 as a Player.",
        "trophy",
        80,
        rules.LEVEL,
        4,
        "PLY",
    ),
    (
        "Every box ticked",
        {"es": "Todo confirmado", "hu": "Minden pipa megvan"},
        "Every requirement of a level was confirmed.",
        "check",
        40,
        rules.REQUIREMENTS,
        1,
        None,
    ),
    (
        "Team player",
        {"es": "En equipo", "hu": "Csapatjátékos"},
        "You joined your first class.",
        "people",
        20,
        rules.CLASS,
        1,
        None,
    ),
    (
        "Trusted",
        {"es": "De confianza", "hu": "Megbízható"},
        "Three different people checked one of your certificates.",
        "eye",
        30,
        rules.VERIFIED,
        3,
        None,
    ),
    (
        "Regular",
        {"es": "Constante", "hu": "Rendszeres"},
        "You logged in on five days in one month.",
        "calendar",
        25,
        rules.ACTIVE_DAYS,
        5,
        None,
    ),
    (
        "Renewed",
        {"es": "Renovada", "hu": "Megújítva"},
        "One of your licenses was renewed.",
        "renew",
        40,
        rules.RENEWAL,
        1,
        None,
    ),
    ("Pioneer", {}, "One of the first licenses of the new portal.", "flag", 15, rules.LICENSE, 1, None),
]
VISITORS = ["203.0.113.10", "203.0.113.11", "203.0.113.12"]


def seed(ctx) -> None:
    timeline, users = ctx.timeline, ctx.users
    defined = ctx.objects["achievements"] = {}

    def define():
        specs = ctx.objects["specializations"]
        for title, titles, description, icon, xp, trigger, count, spec in SET:
            defined[title] = services.create_achievement(
                {
                    "title": title,
                    "titles": titles,
                    "description": description,
                    "icon": icon,
                    "xp": xp,
                    "trigger": trigger,
                    "count": count,
                    "specialization_id": specs[spec].id if spec else None,
                },
                users["admin"],
            )

    timeline.at(timeline.ago(days=426), define)
    timeline.at(
        timeline.ago(days=300), lambda: services.archive_achievement(defined["Pioneer"], users["admin"])
    )
    for days, ip in zip((60, 31, 9), VISITORS, strict=True):
        timeline.at(
            timeline.ago(days=days),
            lambda ip=ip: verification.count_check(ctx.objects["licenses"]["maya.player"], None, ip, "demo"),
        )
    timeline.at(timeline.ago(days=20), lambda: services.set_shown(users["emma"], False, users["emma"]))
    timeline.at(
        timeline.ago(days=15),
        lambda: licenses.renew(
            ctx.objects["licenses"]["liam.player"], users["admin"], "Renewed early for the new season"
        ),
    )
    timeline.at(
        timeline.ago(days=100),
        lambda: services.set_class_summary(
            ctx.objects["classes"]["Player foundations — Saturday squad"], True, users["admin"]
        ),
    )
    timeline.at(timeline.end, lambda: services.rebuild(fix=True))
