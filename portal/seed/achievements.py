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

# (title, description) per language ("en" first), icon, XP, trigger, count, specialization code
SET = [
    ({"en": ("First login", "You logged in to Portal for the first time."),
      "es": ("Primer inicio de sesión", "Iniciaste sesión en Portal por primera vez."),
      "hu": ("Első bejelentkezés", "Először jelentkeztél be a Portalba.")},
     "key", 10, rules.LOGIN, 1, None),
    ({"en": ("First license", "You received your first license."),
      "es": ("Primera licencia", "Recibiste tu primera licencia."),
      "hu": ("Első licenc", "Megkaptad az első licencedet.")},
     "shield", 50, rules.LICENSE, 1, None),
    ({"en": ("Level 2", "You reached level 2 in a specialization."),
      "es": ("Nivel 2", "Alcanzaste el nivel 2 en una especialización."),
      "hu": ("2. szint", "Elérted a 2. szintet egy szakirányban.")},
     "medal", 30, rules.LEVEL, 2, None),
    ({"en": ("Player level 4", "You reached level 4 as a Player."),
      "es": ("Jugador, nivel 4", "Alcanzaste el nivel 4 como Jugador."),
      "hu": ("Játékos, 4. szint", "Játékosként elérted a 4. szintet.")},
     "trophy", 80, rules.LEVEL, 4, "PLY"),
    ({"en": ("Every box ticked", "Every requirement of a level was confirmed."),
      "es": ("Todo confirmado", "Se confirmaron todos los requisitos de un nivel."),
      "hu": ("Minden pipa megvan", "Egy szint minden követelményét igazolták.")},
     "check", 40, rules.REQUIREMENTS, 1, None),
    ({"en": ("Team player", "You joined your first class."),
      "es": ("En equipo", "Te uniste a tu primera clase."),
      "hu": ("Csapatjátékos", "Csatlakoztál az első csoportodhoz.")},
     "people", 20, rules.CLASS, 1, None),
    ({"en": ("Trusted", "Three different people checked one of your certificates."),
      "es": ("De confianza", "Tres personas distintas comprobaron uno de tus certificados."),
      "hu": ("Megbízható", "Három különböző ember ellenőrizte egy tanúsítványodat.")},
     "eye", 30, rules.VERIFIED, 3, None),
    ({"en": ("Regular", "You logged in on five days in one month."),
      "es": ("Constante", "Iniciaste sesión cinco días en un mismo mes."),
      "hu": ("Rendszeres", "Egy hónapban öt napon jelentkeztél be.")},
     "calendar", 25, rules.ACTIVE_DAYS, 5, None),
    ({"en": ("Renewed", "One of your licenses was renewed."),
      "es": ("Renovada", "Se renovó una de tus licencias."),
      "hu": ("Megújítva", "Megújították az egyik licencedet.")},
     "renew", 40, rules.RENEWAL, 1, None),
    ({"en": ("Pioneer", "One of the first licenses of the new portal."),
      "es": ("Pionero", "Una de las primeras licencias del nuevo portal."),
      "hu": ("Úttörő", "Az új portál egyik első licence.")},
     "flag", 15, rules.LICENSE, 1, None),
]

VISITORS = ["203.0.113.10", "203.0.113.11", "203.0.113.12"]


def seed(ctx) -> None:
    timeline, users = ctx.timeline, ctx.users
    defined = ctx.objects["achievements"] = {}

    def define():
        specs = ctx.objects["specializations"]
        for words, icon, xp, trigger, count, spec in SET:
            (title, description), others = words["en"], {k: v for k, v in words.items() if k != "en"}
            defined[title] = services.create_achievement({
                "title": title, "description": description, "icon": icon, "xp": xp,
                "titles": {code: text[0] for code, text in others.items()},
                "descriptions": {code: text[1] for code, text in others.items()},
                "trigger": trigger, "count": count, "specialization_id": specs[spec].id if spec else None,
            }, users["admin"])

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
