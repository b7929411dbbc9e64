"""Certificate codes: random, well-formed, and every single typo or swap is caught."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.services import certificate_codes as codes


def test_new_codes_are_grouped_distinct_and_valid():
    made = {codes.new_code() for _ in range(2000)}
    assert len(made) == 2000
    for code in made:
        assert len(code) == 19 and code.count("-") == 3
        assert codes.parse(code) == (code, None)


def test_typing_is_forgiving_about_case_spaces_and_lookalikes():
    code = codes.new_code()
    assert codes.parse(code.lower().replace("-", " "))[0] == code
    with_zero = code.replace("O", "0")
    assert codes.parse(with_zero)[0] == code


@given(st.data())
def test_any_single_wrong_character_is_caught(data):
    code = codes.normalise(codes.new_code())
    position = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([c for c in codes.ALPHABET if c != code[position]]))
    mistyped = code[:position] + wrong + code[position + 1 :]
    assert codes.parse(mistyped)[0] is None


@given(st.data())
def test_any_swap_of_neighbours_is_caught(data):
    code = codes.normalise(codes.new_code())
    position = data.draw(st.integers(0, len(code) - 2))
    if code[position] == code[position + 1]:
        return
    swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
    assert codes.parse(swapped)[0] is None


def test_malformed_codes_get_a_clear_reason():
    assert "16 characters" in codes.parse("ABC")[1]
    assert "letters and digits" in codes.parse("!!!!-!!!!-!!!!-!!!!")[1]
