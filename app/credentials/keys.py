"""Ed25519 issuer keys: Multikey encoding, PEM files, key ids and the keys a verifier knows.

A credential's proof names its key by URL, `<issuer profile URL>#<key id>`, the form the Open
Badges 3.0 examples use. The key id defaults to the key's own `publicKeyMultibase`
(`z6Mk…`), so it is derived from the key, unique, and never reused by another key. Rotating
means signing with a new key under a new id while the old public keys stay known (a
`KeyRing` holds them all), so everything already issued keeps verifying.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from app.credentials.loader import MULTIKEY_V1_CONTEXT
from app.credentials.multibase import MultibaseError, decode_base58btc, encode_base58btc

# Multicodec headers (unsigned varints): ed25519-pub 0xed, ed25519-priv 0x1300.
ED25519_PUBLIC_HEADER = b"\xed\x01"
ED25519_PRIVATE_HEADER = b"\x80\x26"
# A key id goes in a URL fragment: keep it to characters that need no escaping.
_KEY_ID = re.compile(r"^[A-Za-z0-9._~-]{1,64}$")


class KeyFormatError(ValueError):
    """Key material that is not an Ed25519 key in the expected encoding."""


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def _public(key: Ed25519PublicKey | Ed25519PrivateKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def raw_public_key(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    return _public(key).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_multibase(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """Multikey `publicKeyMultibase`: base58btc of 0xed01 + the 32-byte public key."""
    return encode_base58btc(ED25519_PUBLIC_HEADER + raw_public_key(key))


def public_key_from_multibase(value: object) -> Ed25519PublicKey:
    try:
        data = decode_base58btc(value)
    except MultibaseError as error:
        raise KeyFormatError(f"publicKeyMultibase: {error}") from None
    if not data.startswith(ED25519_PUBLIC_HEADER) or len(data) != 34:
        raise KeyFormatError("publicKeyMultibase is not an Ed25519 public key (z6Mk…)")
    return Ed25519PublicKey.from_public_bytes(data[2:])


def secret_key_multibase(key: Ed25519PrivateKey) -> str:
    """Multikey `secretKeyMultibase`: base58btc of 0x8026 + the 32-byte private key (seed)."""
    seed = key.private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    return encode_base58btc(ED25519_PRIVATE_HEADER + seed)


def private_key_from_multibase(value: object) -> Ed25519PrivateKey:
    """Accepts the 32-byte seed (the Multikey form) and the 64-byte seed + public key form
    some libraries write; the latter's public half must match the seed."""
    try:
        data = decode_base58btc(value)
    except MultibaseError as error:
        raise KeyFormatError(f"secretKeyMultibase: {error}") from None
    if not data.startswith(ED25519_PRIVATE_HEADER) or len(data) not in (34, 66):
        raise KeyFormatError("secretKeyMultibase is not an Ed25519 private key")
    key = Ed25519PrivateKey.from_private_bytes(data[2:34])
    if len(data) == 66 and data[34:] != raw_public_key(key):
        raise KeyFormatError("secretKeyMultibase: the public half does not match the seed")
    return key


def private_key_to_pem(key: Ed25519PrivateKey, password: bytes | None = None) -> bytes:
    """PKCS#8 PEM, encrypted when a password is given."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def private_key_from_pem(data: bytes, password: bytes | None = None) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=password)
    except (ValueError, TypeError, UnsupportedAlgorithm) as error:
        raise KeyFormatError(f"not a readable PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFormatError(f"the PEM holds a {type(key).__name__}, not an Ed25519 key")
    return key


def save_private_key(
    path: str | os.PathLike[str],
    key: Ed25519PrivateKey,
    *,
    password: bytes | None = None,
    overwrite: bool = False,
) -> None:
    """Write the key as PEM, readable by its owner only. Refuses to replace a key unless told:
    losing the current private key means issuing nothing until a new one is published."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_key_to_pem(key, password))


def load_private_key(
    path: str | os.PathLike[str], *, password: bytes | None = None
) -> Ed25519PrivateKey:
    return private_key_from_pem(Path(path).read_bytes(), password)


def key_id(key: Ed25519PublicKey | Ed25519PrivateKey) -> str:
    """The default key id: the key's publicKeyMultibase."""
    return public_key_multibase(key)


def verification_method_id(controller: str, kid: str) -> str:
    """The URL that names a key in a proof: `<controller>#<key id>`."""
    if not _KEY_ID.match(kid):
        raise ValueError(f"key id {kid!r}: use 1-64 letters, digits, '.', '_', '~' or '-'")
    if "#" in controller:
        raise ValueError(f"controller {controller!r} must not have a fragment")
    return f"{controller}#{kid}"


def controller_of(verification_method: str) -> str:
    """The document a verification method URL belongs to (the URL without its fragment)."""
    return verification_method.split("#", 1)[0]


def key_document(
    controller: str, key: Ed25519PublicKey | Ed25519PrivateKey, *, kid: str | None = None
) -> dict[str, Any]:
    """The published Multikey document of one key (what its verification method URL names)."""
    return {
        "@context": MULTIKEY_V1_CONTEXT,
        "id": verification_method_id(controller, kid or key_id(key)),
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": public_key_multibase(key),
    }


@dataclass(frozen=True)
class IssuerKey:
    """The private key the portal signs with, and the issuer profile that controls it."""

    private_key: Ed25519PrivateKey = field(repr=False)
    controller: str
    kid: str = ""

    def __post_init__(self) -> None:
        if not self.kid:
            object.__setattr__(self, "kid", key_id(self.private_key))
        verification_method_id(self.controller, self.kid)  # validates both

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    @property
    def verification_method(self) -> str:
        return verification_method_id(self.controller, self.kid)

    @property
    def public_key_multibase(self) -> str:
        return public_key_multibase(self.private_key)

    def key_document(self) -> dict[str, Any]:
        return key_document(self.controller, self.private_key, kid=self.kid)


class KeyRing:
    """The public keys a verifier trusts, by verification method URL.

    Keep every key that ever signed here (current and retired): a credential stays
    verifiable exactly as long as its key is in the ring. Remove a key only if it was
    compromised; what it signed then reads as signed by an unknown key.
    Use `resolve` (or the ring itself) as the `resolve_key` of `verify_proof` and
    `verify_credential`.
    """

    def __init__(self, keys: Mapping[str, Ed25519PublicKey] | None = None) -> None:
        self._keys: dict[str, Ed25519PublicKey] = dict(keys or {})

    def add(
        self,
        controller: str,
        key: Ed25519PublicKey | Ed25519PrivateKey,
        *,
        kid: str | None = None,
    ) -> str:
        """Trust `key` as `<controller>#<kid>`; returns that URL."""
        url = verification_method_id(controller, kid or key_id(key))
        self._keys[url] = _public(key)
        return url

    def add_multibase(self, controller: str, multibase: str, *, kid: str | None = None) -> str:
        return self.add(controller, public_key_from_multibase(multibase), kid=kid)

    def add_key_document(self, document: Mapping[str, Any]) -> str:
        """Trust the key of a Multikey document (as `key_document` writes it)."""
        if not isinstance(document, Mapping) or document.get("type") != "Multikey":
            raise KeyFormatError("not a Multikey document")
        url, controller = document.get("id"), document.get("controller")
        if not isinstance(url, str) or not isinstance(controller, str):
            raise KeyFormatError("a Multikey document needs an id and a controller")
        if controller_of(url) != controller:
            raise KeyFormatError(f"key {url!r} is not under its controller {controller!r}")
        self._keys[url] = public_key_from_multibase(document.get("publicKeyMultibase"))
        return url

    def resolve(self, url: str) -> Ed25519PublicKey | None:
        return self._keys.get(url) if isinstance(url, str) else None

    __call__ = resolve

    def __contains__(self, url: object) -> bool:
        return url in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    @classmethod
    def of(cls, controller: str, keys: Iterable[Ed25519PublicKey | Ed25519PrivateKey]) -> KeyRing:
        """A ring with each key under its default id."""
        ring = cls()
        for key in keys:
            ring.add(controller, key)
        return ring
