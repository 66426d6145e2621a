"""One page of a list, as every list screen and the shared ``pager`` macro see it.

The links to the pages beside this one are the query arguments that open them, named
as the URL parameters are (``after``/``before`` carry a keyset cursor, the roster's
``page`` a number), so the template builds them without knowing how the list is read.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(kw_only=True)
class Page(Generic[T]):
    rows: list[T]
    first: bool  # the first page: nothing to go back to
    next: dict[str, Any] | None = None  # arguments that open the following page
    previous: dict[str, Any] | None = None  # arguments that open the page before, where the list walks back
