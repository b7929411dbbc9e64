"""Password hashing with Argon2id and the password rules."""

from __future__ import annotations

import functools
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# Argon2id with 46 MiB, 3 passes and 1 lane: above OWASP's minimum for this memory (1 pass),
# about three quarters of the work of RFC 9106's low-memory profile (64 MiB, 3 passes, 4 lanes),
# whose 64 MiB a sign-in would add to a web worker's memory. Hashes made with other parameters
# still verify and are renewed at the next sign-in (`needs_rehash`).
HASH_PARAMETERS = {"memory_cost": 46 * 1024, "time_cost": 3, "parallelism": 1}
_hasher = PasswordHasher(**HASH_PARAMETERS)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# NIST SP 800-63B: at least 8 characters, we ask 12; no composition rules. The upper bound only
# protects the hasher from megabyte "passwords"; 800-63B asks that at least 64 be accepted.
MIN_LENGTH = 12
MAX_LENGTH = 128


def needs_rehash(password_hash: str) -> bool:
    """Whether a stored hash was made with other parameters than today's (rehash at login)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def password_problems(
    password: str, *, email: str | None = None, display_name: str | None = None
) -> list[str]:
    """Why a new password is refused, in words a person can act on; empty when acceptable."""
    normalised = unicodedata.normalize("NFKC", password)
    problems: list[str] = []
    if len(normalised) < MIN_LENGTH:
        problems.append(
            f"Use at least {MIN_LENGTH} characters. A few unrelated words make a long password"
            " that is easy to remember."
        )
    elif len(normalised) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    if len(set(normalised)) == 1 or len(set(_key(normalised))) == 1:
        problems.append("Don't repeat one character; a few unrelated words are far stronger.")
        return problems
    variants = _variants(normalised)
    if variants & _common_passwords():
        problems.append(
            "This password is on a list of common or leaked passwords, so it is among the first"
            " an attacker tries. Choose something less predictable."
        )
    if email and variants & (_variants(email) | _variants(email.rpartition("@")[0])):
        problems.append("Don't use your email address, or the part before the @, as a password.")
    if display_name and variants & _variants(display_name):
        problems.append("Don't use your name as a password.")
    return problems


def _key(text: str) -> str:
    """Text as compared with lists and names: NFKC, case-folded, without whitespace."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in folded if not char.isspace())


def _is_padding(char: str) -> bool:
    """Digits, punctuation and symbols: what people append to meet a rule ('Password2024!')."""
    return unicodedata.category(char)[0] in "NPS"


def _variants(text: str) -> set[str]:
    """The text's key, and the key without trailing digits and punctuation; never empty."""
    key = _key(text)
    stem = key
    while stem and _is_padding(stem[-1]):
        stem = stem[:-1]
    return {variant for variant in (key, stem) if variant}


@functools.cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 common and breached passwords bundled with zxcvbn, loaded on first use."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(_key(entry) for entry in FREQUENCY_LISTS["passwords"])
