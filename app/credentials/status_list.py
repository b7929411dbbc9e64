"""Revocation through a W3C Bitstring Status List (VC Bitstring Status List 1.0).

Each certificate owns one bit, at its `statusListIndex`, in a list the portal publishes as a
signed `BitstringStatusListCredential`; a set bit means revoked. The list is a bitstring of
at least 131,072 bits (16 KiB, the spec's minimum, so one certificate's bit does not stand
out), GZIP-compressed, in multibase base64url (`u…`). Bit 0 is the left-most (most
significant) bit of the first byte.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from app.credentials.keys import IssuerKey
from app.credentials.loader import VC_V2_CONTEXT, OfflineLoader
from app.credentials.multibase import MultibaseError, decode_base64url, encode_base64url
from app.credentials.proof import format_datetime, sign

MIN_LENGTH = 131_072  # bits
# A decoder's bound against a "zip bomb" list: 16 MiB is 134 million entries.
MAX_DECODED_BYTES = 16 * 1024 * 1024
REVOCATION = "revocation"
_INDEX = re.compile(r"^(0|[1-9][0-9]{0,11})$")


class StatusListError(ValueError):
    """An encoded list or an index that cannot be read."""


def encode_bits(bitstring: bytes) -> str:
    """`encodedList` of a bitstring: multibase base64url of its GZIP compression."""
    # mtime=0 keeps the output the same for the same bits (no timestamp in the header).
    return encode_base64url(gzip.compress(bytes(bitstring), mtime=0))


def decode_bits(encoded_list: object) -> bytes:
    """The bitstring of an `encodedList`."""
    try:
        compressed = decode_base64url(encoded_list)
    except MultibaseError as error:
        raise StatusListError(f"encodedList: {error}") from None
    decompressor = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip
    try:
        bits = decompressor.decompress(compressed, MAX_DECODED_BYTES + 1)
    except zlib.error as error:
        raise StatusListError(f"encodedList is not GZIP data: {error}") from None
    if len(bits) > MAX_DECODED_BYTES:
        raise StatusListError(f"encodedList expands to more than {MAX_DECODED_BYTES} bytes")
    if not decompressor.eof:
        raise StatusListError("encodedList is truncated")
    return bits


def parse_index(value: object) -> int:
    """A `statusListIndex` (a string of decimal digits) as an int."""
    if isinstance(value, str) and _INDEX.match(value):
        return int(value)
    raise StatusListError(f"statusListIndex {value!r} is not a non-negative integer string")


def set_bits(indexes: Iterable[int], *, length: int = MIN_LENGTH) -> str:
    """`encodedList` of a list of `length` bits with the bits at `indexes` set."""
    if length < MIN_LENGTH or length % 8:
        raise StatusListError(f"a list has at least {MIN_LENGTH} bits, a multiple of 8")
    bitstring = bytearray(length // 8)
    for index in indexes:
        if not 0 <= index < length:
            raise StatusListError(f"index {index} is outside a list of {length} bits")
        bitstring[index // 8] |= 0x80 >> (index % 8)
    return encode_bits(bytes(bitstring))


def bit_is_set(bitstring: bytes, index: int) -> bool:
    if not 0 <= index < len(bitstring) * 8:
        raise StatusListError(f"index {index} is outside a list of {len(bitstring) * 8} bits")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def is_revoked(encoded_list: object, index: int | str) -> bool:
    """Whether the bit at `index` of a revocation list is set."""
    position = parse_index(index) if isinstance(index, str) else index
    return bit_is_set(decode_bits(encoded_list), position)


def status_entry(list_url: str, index: int, *, purpose: str = REVOCATION) -> dict[str, Any]:
    """A credential's `credentialStatus`: its bit in the list at `list_url`."""
    if index < 0:
        raise StatusListError("a status list index is not negative")
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def status_list_credential(
    *,
    list_url: str,
    key: IssuerKey,
    revoked: Iterable[int] = (),
    valid_from: datetime,
    valid_until: datetime | None = None,
    length: int = MIN_LENGTH,
    purpose: str = REVOCATION,
    loader: OfflineLoader | None = None,
) -> dict[str, Any]:
    """The signed `BitstringStatusListCredential` the portal serves at `list_url`.

    Its issuer is the key's controller, the issuer of the certificates it covers (verifiers
    check that the two match). `valid_until`, if given, tells caches when to fetch it again.
    """
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": key.controller,
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = format_datetime(valid_until)
    credential["credentialSubject"] = {
        "id": f"{list_url}#list",
        "type": "BitstringStatusList",
        "statusPurpose": purpose,
        "encodedList": set_bits(revoked, length=length),
    }
    return sign(credential, key, created=valid_from, loader=loader)


def list_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The `BitstringStatusList` subject of a status list credential (StatusListError if none)."""
    subject = document.get("credentialSubject") if isinstance(document, Mapping) else None
    if not isinstance(subject, Mapping):
        raise StatusListError("the status list credential has no credentialSubject object")
    types = subject.get("type")
    if "BitstringStatusList" not in (types if isinstance(types, list) else [types]):
        raise StatusListError("the status list credential's subject is not a BitstringStatusList")
    return subject
