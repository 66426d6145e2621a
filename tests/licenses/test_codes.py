"""License codes: format, randomness, typo detection, normalisation."""

from __future__ import annotations

import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.licenses import codes

FORMAT = re.compile(
    r"^[A-Z]{3}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]$"
)


def test_generated_codes_have_the_grouped_format_and_fit_the_column():
    code = codes.generate("PLY")
    assert FORMAT.match(code), code
    assert code.startswith("PLY-")
    assert len(code) <= 20
    assert not set(code[4:]) & set("ILOU")


def test_codes_carry_at_least_60_random_bits_and_do_not_repeat():
    assert codes.RANDOM_CHARS * math.log2(len(codes.ALPHABET)) >= 60
    assert len(codes.ALPHABET) == 32 and len(set(codes.ALPHABET)) == 32
    made = {codes.generate("PLY") for _ in range(2000)}
    assert len(made) == 2000


def test_normalise_ignores_case_spaces_and_dashes():
    code = codes.generate("COA")
    messy = "  " + code.lower().replace("-", " ") + " "
    assert codes.normalise(messy) == code
    assert codes.normalise(code.replace("-", "")) == code
    assert codes.is_valid(code)


def test_look_alikes_are_read_as_digits():
    # Build a code whose body holds 0 and 1, then type O and I/L instead.
    body = "01AB01CD01EF"
    code = f"PLY-{body[:4]}-{body[4:8]}-{body[8:]}-{codes.check_char('PLY', body)}"
    assert codes.normalise(code) == code
    typed = code[:4] + code[4:].replace("0", "O").replace("1", "l")
    assert codes.normalise(typed) == code
    assert codes.normalise(typed.replace("l", "I")) == code


@given(st.integers(min_value=0, max_value=11), st.sampled_from(list(codes.ALPHABET)))
def test_any_single_wrong_character_is_caught(position, replacement):
    code = codes.generate("PLY")
    compact = code.replace("-", "")
    index = 3 + position
    if compact[index] == replacement:
        return
    typo = compact[:index] + replacement + compact[index + 1 :]
    assert codes.normalise(typo) is None


def test_a_wrong_check_character_or_prefix_is_caught():
    code = codes.generate("PLY")
    for ch in codes.ALPHABET:
        if ch != code[-1]:
            assert codes.normalise(code[:-1] + ch) is None
    assert codes.normalise("COA" + code[3:]) is None


def test_swapped_neighbours_are_caught():
    code = codes.generate("INT").replace("-", "")
    caught = total = 0
    for i in range(3, len(code) - 1):
        if code[i] == code[i + 1]:
            continue
        total += 1
        swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
        caught += codes.normalise(swapped) is None
    assert caught == total


def test_every_single_substitution_in_many_codes_is_caught():
    for _ in range(20):
        compact = codes.generate("PLY").replace("-", "")
        for index in range(3, len(compact)):
            for ch in codes.ALPHABET:
                if ch != compact[index]:
                    typo = compact[:index] + ch + compact[index + 1 :]
                    assert codes.normalise(typo) is None, typo


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "PLY",
        "PLY-0000",
        "x" * 100,
        "PLY-????-????-????-?",
        "PLY-0000-0000-0000-0-0",
        "PLYU-0000-0000-0000",
    ],
)
def test_garbage_is_rejected(text):
    assert codes.normalise(text) is None
    assert not codes.is_valid(text)


def test_generate_refuses_a_bad_prefix():
    with pytest.raises(ValueError):
        codes.generate("not a code")
