"""The built-in badge icons: a small set of SVG shapes, each with a name a screen reader
reads. An achievement stores the key; nothing else can be drawn (no uploads, no URLs)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

# key -> (accessible name, the SVG's inner shapes on a 24×24 grid, drawn in currentColor)
ICONS = {
    "star": (
        _l("Star"),
        '<path d="M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3l-5.9 3.3 1.3-6.6-4.9-4.6 6.6-.8z"/>',
    ),
    "key": (_l("Key"), '<circle cx="8" cy="12" r="4.5"/><path d="M12.5 12H22M18 12v4M21 12v3"/>'),
    "shield": (_l("Shield"), '<path d="M12 2.5l8 3v6c0 5-3.4 8.6-8 10-4.6-1.4-8-5-8-10v-6z"/>'),
    "trophy": (
        _l("Trophy"),
        '<path d="M7 3h10v6a5 5 0 0 1-10 0zM7 5H3v2a4 4 0 0 0 4 4M17 5h4v2a4 4 0 0 1-4 4'
        'M12 14v4M8 21h8M9 18h6"/>',
    ),
    "medal": (_l("Medal"), '<path d="M8 2l4 7 4-7"/><circle cx="12" cy="15" r="6"/><path d="M12 12.5v5"/>'),
    "check": (_l("Check mark"), '<circle cx="12" cy="12" r="9.5"/><path d="M7.5 12.5l3 3 6-6.5"/>'),
    "people": (
        _l("People"),
        '<circle cx="8" cy="8" r="3.5"/><circle cx="16.5" cy="9" r="3"/>'
        '<path d="M2 21c0-4 2.7-6.5 6-6.5s6 2.5 6 6.5M14 15c3.5-1 8 .5 8 5.5"/>',
    ),
    "eye": (
        _l("Eye"),
        '<path d="M1.5 12S5.5 5 12 5s10.5 7 10.5 7-4 7-10.5 7S1.5 12 1.5 12z"/>'
        '<circle cx="12" cy="12" r="3"/>',
    ),
    "calendar": (
        _l("Calendar"),
        '<rect x="3" y="4.5" width="18" height="17" rx="2"/><path d="M3 9.5h18M8 2.5v4M16 2.5v4'
        'M7.5 14h2M11 14h2M14.5 14h2M7.5 17.5h2"/>',
    ),
    "renew": (
        _l("Circular arrows"),
        '<path d="M20 12a8 8 0 0 1-14 5.3M4 12a8 8 0 0 1 14-5.3M18 2.5v4.2h-4.2M6 21.5v-4.2h4.2"/>',
    ),
    "book": (
        _l("Book"),
        '<path d="M3 4.5h6a3 3 0 0 1 3 3v14a2.5 2.5 0 0 0-2.5-2.5H3zM21 4.5h-6a3 3 0 0 0-3 3v14'
        'a2.5 2.5 0 0 1 2.5-2.5H21z"/>',
    ),
    "flag": (_l("Flag"), '<path d="M5 22V3M5 4h12l-2.5 4.5L17 13H5"/>'),
}


def name(key: str) -> str:
    return str(ICONS.get(key, ICONS["star"])[0])


def svg(key: str, *, label: str | None = None, size: int = 40) -> Markup:
    """The icon as inline SVG. With ``label`` it is an image with that name (role="img",
    a <title>); without, it is decoration beside text that says the same (aria-hidden)."""
    shapes = ICONS.get(key, ICONS["star"])[1]
    common = (
        f'xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="{size}" height="{size}" '
        'fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" '
        'stroke-linejoin="round" focusable="false" class="badge-icon"'
    )
    if label:
        return Markup(
            f'<svg {common} role="img" aria-label="{escape(label)}"><title>{escape(label)}</title>'
            f"{shapes}</svg>"
        )
    return Markup(f'<svg {common} aria-hidden="true">{shapes}</svg>')
