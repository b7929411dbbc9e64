"""Verification codes: unguessable, easy to read aloud and type, with a check character.

Fifteen random characters from a 29-letter alphabet without look-alikes (no 0/O, 1/I/L, U, Z)
carry about 73 bits. A check character makes the position-weighted sum of all sixteen
divisible by 29; as 29 is prime, any single mistyped character and any swap of two
neighbours breaks that, always. Shown as four groups: 7KQ4-M2XW-9PHD-3RNA.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXY"  # 29, a prime
RANDOM_LENGTH = 15
_INDEX = {char: index for index, char in enumerate(ALPHABET)}
# What people type by mistake for a letter of the alphabet.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "L": "I", "U": "V", "Z": "2"})


def _check_character(body: str) -> str:
    """The character c that makes sum((i + 1) * value) over body + c divisible by 29."""
    base = len(ALPHABET)
    total = sum((position + 1) * _INDEX[char] for position, char in enumerate(body))
    weight = len(body) + 1
    # value * weight = -total (mod base); weight is invertible because base is prime.
    value = (-total * pow(weight, -1, base)) % base
    return ALPHABET[value]


def new_code() -> str:
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))
    return format_code(body + _check_character(body))


def format_code(compact: str) -> str:
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def normalise(typed: str) -> str:
    """Upper case, without spaces or hyphens; common look-alikes are read as letters."""
    compact = re.sub(r"[\s\-]", "", typed).upper()
    return compact.translate(_LOOKALIKES)


def parse(typed: str) -> tuple[str | None, str | None]:
    """(formatted code, None) when well-formed, or (None, what is wrong)."""
    compact = normalise(typed)
    if len(compact) != RANDOM_LENGTH + 1:
        return None, "A certificate code has 16 characters, in four groups of four."
    if any(char not in _INDEX for char in compact):
        return None, "A certificate code uses only the letters and digits printed on it."
    if _check_character(compact[:-1]) != compact[-1]:
        return None, "This code has a typing error: please check it against the certificate."
    return format_code(compact), None
