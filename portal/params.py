"""Input from the URL in one place: numbers (route ids, query parameters) range-checked,
the filter arguments a list page passes on to its links, and same-site return addresses.

Every id column is a 32-bit INTEGER on PostgreSQL, so a larger number names no row;
passed on, it fails in the database (out of range on PostgreSQL, too large to bind
on SQLite) and the request ends in a 500. Such numbers stop here instead: a route id
does not match (404), and a query parameter counts as absent.
"""
from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import request
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict
from werkzeug.routing import IntegerConverter, ValidationError

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """The app's ``<int:…>`` converter: non-negative, at most ``MAX_ID`` unless a route says otherwise."""

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002 - Werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str):
        # Before int(): a path of thousands of digits costs CPU to convert.
        if self.max is not None and len(value) > len(str(self.max)):
            raise ValidationError()
        return super().to_python(value)


def parse_int(text: str | None, lo: int = 0, hi: int = MAX_ID) -> int | None:
    """``text`` as a whole number in ``lo..hi``, else None."""
    text = (text or "").strip()
    # isascii: str.isdigit() also accepts digits such as "²" that int() refuses.
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(hi)):
        return None
    number = int(text)
    return number if lo <= number <= hi else None


def int_arg(name: str, default: int | None = None, *, lo: int = 0, hi: int = MAX_ID) -> int | None:
    """The query parameter ``name`` as a whole number in ``lo..hi``, else ``default``."""
    number = parse_int(request.args.get(name), lo, hi)
    return default if number is None else number


def int_filter(name: str, errors: dict[str, str], *, lo: int = 0, hi: int = MAX_ID) -> int | None:
    """A list filter's whole number in ``lo..hi``, or None when left empty. Anything else
    (``level=abc``) is None too, with a message for the field in ``errors``: a list page
    says the filter was not understood instead of silently showing everything."""
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    number = parse_int(raw, lo, hi)
    if number is None:
        errors[name] = _("Enter a whole number from %(lo)d to %(hi)d.", lo=lo, hi=hi)
    return number


def filter_args(names: Iterable[str]) -> MultiDict:
    """The query arguments among ``names`` that have a value, for a list page to build its
    links with (pager, export, "clear").

    Only the page's own filter names pass: ``url_for`` reads ``_anchor``, ``_scheme``,
    ``_external`` and ``_method`` (and ``endpoint``) as its options, so handing it the query
    string as it came lets a visitor break the page or point its links at another host.
    Cursors are left out too; the pager adds its own.
    """
    wanted = frozenset(names)
    return MultiDict([(k, v) for k, v in request.args.items(multi=True) if k in wanted and v != ""])


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target:
        return None
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def same_site_path(url: str | None) -> str | None:
    """The path and query of a full address on this site (a Referer, htmx's
    HX-Current-URL), or None for any other site or anything odd."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))
