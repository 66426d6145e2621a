"""Which characters the certificate can draw, so a name never prints as empty boxes.

WeasyPrint finds its fonts through fontconfig and falls back, glyph by glyph, to any
installed font that has the character (the colour emoji font included). So a character is
drawable when some installed font covers it: fontconfig's own answer, asked once per process
with ``fc-list`` (a few milliseconds) and kept. Characters that draw nothing by design
(joiners, variation selectors, other default-ignorable code points) never make a box and
are not asked about. Without ``fc-list`` nothing is refused, and a warning is logged.
"""
from __future__ import annotations

import bisect
import functools
import logging
import shutil
import subprocess

log = logging.getLogger(__name__)

# Unicode's Default_Ignorable_Code_Point ranges: renderers draw nothing for them.
_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160), (0x17B4, 0x17B5),
    (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x206F), (0x3164, 0x3164),
    (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8),
    (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0000, 0xE0FFF),
)


@functools.cache
def coverage() -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """The code points some installed font covers, as sorted, merged (starts, ends);
    None when fontconfig cannot be asked."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        log.warning("fc-list (fontconfig) is not installed: names are not checked for characters "
                    "the certificate cannot draw")
        return None
    try:
        listing = subprocess.run(
            [fc_list, "--format", "%{charset}\n"], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("fc-list failed (%s): names are not checked for characters the certificate "
                    "cannot draw", exc)
        return None
    ranges = []
    for token in listing.split():
        low, _, high = token.partition("-")
        ranges.append((int(low, 16), int(high or low, 16)))
    merged: list[list[int]] = []
    for low, high in sorted(ranges):
        if merged and low <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return tuple(r[0] for r in merged), tuple(r[1] for r in merged)


def _in(ranges, code: int) -> bool:
    starts, ends = ranges
    i = bisect.bisect_right(starts, code) - 1
    return i >= 0 and code <= ends[i]


_IGNORABLE_RANGES = (tuple(r[0] for r in _IGNORABLE), tuple(r[1] for r in _IGNORABLE))


def undrawable(text: str) -> list[str]:
    """The characters of ``text`` (each once, in order) that no installed font can draw."""
    ranges = coverage()
    if ranges is None:
        return []
    missing = []
    for char in dict.fromkeys(text):
        code = ord(char)
        if char == " " or _in(_IGNORABLE_RANGES, code) or _in(ranges, code):
            continue
        missing.append(char)
    return missing


def describe(chars: list[str]) -> str:
    """``"" (U+E000), "x" (U+0378)`` for a message, the code point making each one visible."""
    shown = []
    for char in chars[:5]:
        printable = char.isprintable() and not char.isspace()
        shown.append(f"“{char}” (U+{ord(char):04X})" if printable else f"U+{ord(char):04X}")
    return ", ".join(shown) + (" …" if len(chars) > 5 else "")
