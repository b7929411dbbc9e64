"""The Open Badges 3.0 shape of a completion certificate, and the issuer's published documents.

Every property used here is a term the shipped contexts define (VC 2.0 and OB 3.0.3), so
canonicalisation keeps all of it and the signature covers all of it; `canonical.py` refuses
a document with an undefined term, and the tests check the whole credential survives.

The learner is named twice in `credentialSubject`: as `name` (schema.org name, defined by
the OB context and what wallets and displayers show) and as an OB 3.0 `identifier` of
`identityType` "name", unhashed, which is how OB 3.0 identifies a recipient that has no
`id` (an AchievementSubject needs one or the other). The course's version is the
achievement's `version`; its hours are `creditsAvailable` ("credit hours … possible").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from app.credentials.keys import key_id, public_key_multibase, verification_method_id
from app.credentials.loader import OB_V3P0_CONTEXT, VC_V2_CONTEXT
from app.credentials.proof import format_datetime
from app.credentials.status_list import status_entry

CREDENTIAL_CONTEXT = [VC_V2_CONTEXT, OB_V3P0_CONTEXT]
CREDENTIAL_TYPE = ["VerifiableCredential", "OpenBadgeCredential"]
_URL = re.compile(r"^(https?://[^\s#]+|urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+)$")


class CredentialDataError(ValueError):
    """A value that cannot go into a credential."""


def _url(name: str, value: str) -> str:
    if not isinstance(value, str) or not _URL.match(value):
        raise CredentialDataError(f"{name} must be an absolute http(s) or urn URL, got {value!r}")
    return value


def _text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise CredentialDataError(f"{name} must be a non-empty string")
    return value


@dataclass(frozen=True)
class Issuer:
    """The organisation that issues the certificates: its OB 3.0 Profile."""

    id: str  # the issuer profile URL; keys are named under it
    name: str
    url: str  # its home page
    email: str | None = None

    def profile(self) -> dict[str, Any]:
        """The Profile as embedded in a credential."""
        profile: dict[str, Any] = {
            "id": _url("issuer id", self.id),
            "type": ["Profile"],
            "name": _text("issuer name", self.name),
            "url": _url("issuer url", self.url),
        }
        if self.email:
            profile["email"] = self.email
        return profile


@dataclass(frozen=True)
class Achievement:
    """What the certificate certifies: a course, at one version."""

    id: str  # the course's public URL (at this version, if versions differ)
    name: str
    description: str
    criteria: str  # how it is earned, in words
    version: str
    hours: float | None = None

    def as_json(self) -> dict[str, Any]:
        achievement: dict[str, Any] = {
            "id": _url("achievement id", self.id),
            "type": ["Achievement"],
            "name": _text("achievement name", self.name),
            "description": _text("achievement description", self.description),
            "criteria": {"narrative": _text("criteria", self.criteria)},
            "version": _text("version", str(self.version)),
        }
        if self.hours is not None:
            achievement["creditsAvailable"] = _hours(self.hours)
        return achievement


def _hours(hours: float) -> int | float:
    """Hours as a JSON number: an integer when whole (10, not 10.0), else two decimals.

    JSON-LD writes a whole number as "10" and a fraction as a double ("2.5E0"); two decimals
    keep the double's text the same in every implementation.
    """
    if isinstance(hours, bool) or not isinstance(hours, (int, float)):
        raise CredentialDataError("hours must be a number")
    if not math.isfinite(hours) or hours < 0:
        raise CredentialDataError("hours must be a finite number, not negative")
    rounded = round(float(hours), 2)
    return int(rounded) if rounded.is_integer() else rounded


def build_credential(
    *,
    credential_id: str,
    issuer: Issuer,
    learner_name: str,
    achievement: Achievement,
    valid_from: datetime,
    valid_until: datetime | None = None,
    status_list_url: str | None = None,
    status_index: int | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """An unsigned OpenBadgeCredential for one certificate (sign it with `proof.sign`).

    `credential_id` is the certificate's public URL. With `status_list_url` and
    `status_index` it carries a revocation entry (its bit in that list).
    """
    credential: dict[str, Any] = {
        "@context": list(CREDENTIAL_CONTEXT),
        "id": _url("credential id", credential_id),
        "type": list(CREDENTIAL_TYPE),
        "issuer": issuer.profile(),
        "validFrom": format_datetime(valid_from),
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise CredentialDataError("validUntil must be after validFrom")
        credential["validUntil"] = format_datetime(valid_until)
    credential["name"] = _text("credential name", name or achievement.name)
    credential["credentialSubject"] = {
        "type": ["AchievementSubject"],
        "name": _text("learner name", learner_name),
        "identifier": [
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": learner_name,
            }
        ],
        "achievement": achievement.as_json(),
    }
    if (status_list_url is None) != (status_index is None):
        raise CredentialDataError("give both status_list_url and status_index, or neither")
    if status_list_url is not None and status_index is not None:
        credential["credentialStatus"] = status_entry(
            _url("status list url", status_list_url), status_index
        )
    return credential


def issuer_profile(
    issuer: Issuer,
    keys: Iterable[Ed25519PublicKey | Ed25519PrivateKey | tuple[str, Ed25519PublicKey]] = (),
) -> dict[str, Any]:
    """The issuer's public profile, served at `issuer.id`: an OB 3.0 Profile that also lists
    the keys it signs with (its controller document).

    `keys` are every key still to be trusted, current and retired, each a public key (named
    by its default key id) or a `(key id, public key)` pair. `assertionMethod` lists their
    URLs: a verifier checks that the key of a proof is one of them. The key entries are
    read as plain JSON: neither VC 2.0 nor OB 3.0 defines `verificationMethod` or
    `assertionMethod` for a Profile, so a JSON-LD processor ignores them (the profile is
    not signed, so nothing is lost).
    """
    methods = []
    for entry in keys:
        kid, key = entry if isinstance(entry, tuple) else (key_id(entry), entry)
        methods.append(
            {
                "id": verification_method_id(issuer.id, kid),
                "type": "Multikey",
                "controller": issuer.id,
                "publicKeyMultibase": public_key_multibase(key),
            }
        )
    profile = {"@context": list(CREDENTIAL_CONTEXT), **issuer.profile()}
    if methods:
        profile["verificationMethod"] = methods
        profile["assertionMethod"] = [method["id"] for method in methods]
    return profile
