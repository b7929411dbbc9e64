"""Multibase strings: base58btc (`z…`) for keys and signatures, base64url (`u…`) for status lists.

Only the two encodings the credentials use. Decoders raise `MultibaseError` (a ValueError) on
anything else, so callers can report a clear reason instead of a traceback.
"""

from __future__ import annotations

import base64
import binascii

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BASE58_INDEX = {char: index for index, char in enumerate(BASE58_ALPHABET)}
# Keys and signatures are under 100 characters; the cap keeps the quadratic big-integer
# conversion cheap whatever a verifier is handed.
MAX_BASE58_LENGTH = 1024


class MultibaseError(ValueError):
    """A multibase string that is not what was expected."""


def base58btc_encode(data: bytes) -> str:
    """Bitcoin base58 of `data`, leading zero bytes kept as '1's."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(BASE58_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def base58btc_decode(text: str) -> bytes:
    """The bytes of a Bitcoin base58 string."""
    if not isinstance(text, str):
        raise MultibaseError("base58 value is not a string")
    if len(text) > MAX_BASE58_LENGTH:
        raise MultibaseError(f"base58 value is longer than {MAX_BASE58_LENGTH} characters")
    number = 0
    for char in text:
        value = _BASE58_INDEX.get(char)
        if value is None:
            raise MultibaseError(f"{char!r} is not a base58btc character")
        number = number * 58 + value
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body


def encode_base58btc(data: bytes) -> str:
    """Multibase base58btc: 'z' + base58."""
    return "z" + base58btc_encode(data)


def decode_base58btc(value: object) -> bytes:
    """The bytes of a multibase base58btc string ('z' + base58)."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise MultibaseError("expected a multibase base58btc string starting with 'z'")
    return base58btc_decode(value[1:])


def encode_base64url(data: bytes) -> str:
    """Multibase base64url without padding: 'u' + base64url."""
    return "u" + base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode_base64url(value: object) -> bytes:
    """The bytes of a multibase base64url string ('u' + base64url, padding optional)."""
    if not isinstance(value, str) or not value.startswith("u"):
        raise MultibaseError("expected a multibase base64url string starting with 'u'")
    body = value[1:]
    if not all(char.isascii() and (char.isalnum() or char in "-_=") for char in body):
        raise MultibaseError("the value has characters outside the base64url alphabet")
    body = body.rstrip("=")
    try:
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as error:
        raise MultibaseError(f"not valid base64url: {error}") from None
