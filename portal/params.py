"""Numbers from outside (route ids, query parameters), range-checked in one place.

Every id column is a 32-bit INTEGER on PostgreSQL, so a larger number names no row;
passed on, it fails in the database (out of range on PostgreSQL, too large to bind
on SQLite) and the request ends in a 500. Such numbers stop here instead: a route id
does not match (404), and a query parameter counts as absent.
"""
from __future__ import annotations

from flask import request
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
