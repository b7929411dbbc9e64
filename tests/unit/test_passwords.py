"""The rules a new password must meet (NIST SP 800-63B), and when a stored hash is renewed."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from app.services.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    hash_password,
    needs_rehash,
    password_problems,
)

# Varied enough to be on no list; sliced to the length a test needs.
UNCOMMON = "Kestrel-lantern harbour 7 quietly folds maps; " * 4
EMAIL = "Somchai.Jaidee@example.org"
NAME = "Somchai Jaidee"


def test_limits_are_those_of_the_policy() -> None:
    assert (MIN_LENGTH, MAX_LENGTH) == (12, 128)


def test_eleven_characters_are_refused_for_length_alone() -> None:
    problems = password_problems(UNCOMMON[:11])
    assert len(problems) == 1
    assert "at least 12 characters" in problems[0]


@pytest.mark.parametrize("length", [12, 64, 128])
def test_long_enough_passwords_are_accepted(length: int) -> None:
    assert password_problems(UNCOMMON[:length]) == []


def test_one_hundred_twenty_nine_characters_are_refused() -> None:
    problems = password_problems(UNCOMMON[:129])
    assert len(problems) == 1
    assert "at most 128 characters" in problems[0]


def test_length_is_counted_after_nfkc_normalisation() -> None:
    # Full-width letters stay one character each; the ligature "ﬁ" becomes "fi", two.
    eleven_wide = "Ｋｅｓｔｒｅｌｍａｐｓ"
    assert len(eleven_wide) == 11
    assert password_problems(eleven_wide) != []
    ten_wide_and_ligature = eleven_wide[:10] + "ﬁ"
    assert len(ten_wide_and_ligature) == 11
    assert password_problems(ten_wide_and_ligature) == []


@pytest.mark.parametrize(
    "password",
    [
        "password1234",
        "Password2024!",
        "PASSWORD2024!!",
        "qwertyuiop123",
        "QwertyUiop",
        "iloveyou2024!!",
        "Football12345",
        "trustno1!!!!!",
    ],
)
def test_common_and_breached_passwords_are_refused(password: str) -> None:
    problems = password_problems(password)
    assert any("common or leaked" in problem for problem in problems), problems


@pytest.mark.parametrize(
    "password", [EMAIL, EMAIL.lower(), "Somchai.Jaidee", "somchai.jaidee2024!"]
)
def test_email_address_and_its_local_part_are_refused(password: str) -> None:
    problems = password_problems(password, email=EMAIL)
    assert any("email address" in problem for problem in problems), problems


@pytest.mark.parametrize("password", ["Somchai Jaidee", "somchaijaidee", "SOMCHAI JAIDEE 1990"])
def test_display_name_is_refused(password: str) -> None:
    problems = password_problems(password, display_name=NAME)
    assert any("your name" in problem for problem in problems), problems


def test_a_password_unrelated_to_the_person_is_accepted() -> None:
    assert password_problems(UNCOMMON[:30], email=EMAIL, display_name=NAME) == []


@pytest.mark.parametrize("password", ["aaaaaaaaaaaaaa", "77777777777777", "z z z z z z z z"])
def test_one_repeated_character_is_refused(password: str) -> None:
    problems = password_problems(password)
    assert any("repeat" in problem for problem in problems), problems


@pytest.mark.parametrize(
    "password",
    ["แมวของฉันชอบกินปลาทูทุกวัน", "القطة تحب السمك كثيرا جدا"],
    ids=["thai", "arabic"],
)
def test_passphrases_in_other_scripts_are_accepted(password: str) -> None:
    assert password_problems(password) == []


def test_a_fresh_hash_needs_no_rehash() -> None:
    assert needs_rehash(hash_password(UNCOMMON[:20])) is False


def test_a_hash_made_with_weaker_parameters_needs_rehash() -> None:
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024)
    assert needs_rehash(weaker.hash(UNCOMMON[:20])) is True
