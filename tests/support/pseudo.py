"""The pseudo-locale: every marked message, translated as itself between ⟦ and ⟧.

A page rendered in it shows at a glance what nobody marked for translation: any words
outside the brackets. ``catalog_messages`` extracts the messages from the source the
way ``make translations`` does (babel.cfg), so the checks need no compiled files;
``build`` writes the pseudo catalog, ``leftovers`` reads a rendered page.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo

ROOT = Path(__file__).resolve().parents[2]
CODE = "en_001"  # a locale Babel knows that no academy would choose
OPEN, CLOSE = "⟦", "⟧"
KEYWORDS = {"_": None, "_l": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None,
            "lazy_ngettext": (1, 2)}


def catalog_messages() -> dict[str | tuple[str, str], list[str]]:
    """Every message marked in the source: msgid (a pair for plurals) -> where it is."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str | tuple[str, str], list[str]] = {}
    # Only hidden folders are skipped (Babel's own default would skip templates/_macros too).
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS,
            directory_filter=lambda path: not Path(path).name.startswith(".")):
        key = tuple(message) if isinstance(message, (tuple, list)) else message
        if isinstance(key, tuple):
            key = key[:2]
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def pseudo(text: str) -> str:
    return f"{OPEN}{text}{CLOSE}"


def build(folder: Path) -> Path:
    """Compile the pseudo catalog under ``folder`` (a translation directory) and return it."""
    catalog = Catalog(locale=CODE)
    for message in catalog_messages():
        if isinstance(message, tuple):
            catalog.add(message, (pseudo(message[0]), pseudo(message[1])))
        else:
            catalog.add(message, pseudo(message))
    target = folder / CODE / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "messages.mo", "wb") as out:
        write_mo(out, catalog)
    return folder


class _Text(HTMLParser):
    """What a reader meets on a page: text nodes and the attributes read out or shown
    (title, aria-label, placeholder, alt, the value of a button), in document order."""

    SKIP = {"script", "style"}
    VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
    READ_ATTRS = ("title", "aria-label", "placeholder", "alt")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden: list[str] = []  # the open hidden elements, innermost last

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        # Scripts, styles and what is hidden from assistive technology (icons such as
        # "ℹ" beside a message that says the same in words) are not read.
        if self._hidden or tag in self.SKIP or attrs.get("aria-hidden") == "true":
            if tag not in self.VOID:  # every element inside, so each end tag finds its start
                self._hidden.append(tag)
            return
        for name in self.READ_ATTRS:
            if attrs.get(name):
                self.parts.append(attrs[name])
        if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.parts.append(attrs["value"])

    def handle_endtag(self, tag):
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


_BRACKETED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
_NOT_WORDS = re.compile(r"[\W\d_]+")


# Data a page shows as it is that the sweep's own requests create after the database was
# read: the chain head's digest, a refused request ("GET /admin/..."), a user agent.
MADE_WHILE_SWEEPING = (r"\b[0-9a-f]{64}\b", r"\b(?:GET|POST|HEAD) /\S*", r"\bWerkzeug/[\d.]+")


def data_pattern(values) -> re.Pattern:
    """One pattern for the strings a page may show as they are (names, e-mail addresses,
    codes ...), longest first, so a name is removed whole before a part of it."""
    words = sorted({v for v in values if v and v.strip()}, key=len, reverse=True)
    return re.compile("|".join([*MADE_WHILE_SWEEPING, *(re.escape(w) for w in words)]))


def leftovers(html: str, data: re.Pattern) -> list[str]:
    """The pieces of text on the page that are neither translated (bracketed) nor data."""
    parser = _Text()
    parser.feed(html)
    text = "\x00".join(parser.parts)
    while True:  # innermost brackets first: a message may hold another inside
        shorter = _BRACKETED.sub("\x00", text)
        if shorter == text:
            break
        text = shorter
    found = []
    for piece in text.split("\x00"):
        if not _NOT_WORDS.sub("", piece):
            continue
        if _NOT_WORDS.sub("", data.sub(" ", piece)):
            found.append(" ".join(piece.split()))
    return found
