"""Completion certificates as Open Badges 3.0 credentials that anyone can verify offline.

A pure library: no Flask, no database. `openbadges` shapes the credential, `proof` signs and
checks it (Data Integrity, eddsa-rdfc-2022, Ed25519), `status_list` publishes revocations,
`verify` gives the verdict. See README.md in this package.
"""

from app.credentials.canonical import CanonicalizationError, canonicalize
from app.credentials.keys import (
    IssuerKey,
    KeyRing,
    generate_private_key,
    key_document,
    load_private_key,
    public_key_multibase,
    save_private_key,
)
from app.credentials.loader import DocumentNotAvailable, OfflineLoader
from app.credentials.openbadges import Achievement, Issuer, build_credential, issuer_profile
from app.credentials.proof import ProofResult, sign, verify_proof
from app.credentials.status_list import is_revoked, set_bits, status_list_credential
from app.credentials.verify import STATUSES, Verdict, verify_credential

__all__ = [
    "STATUSES",
    "Achievement",
    "CanonicalizationError",
    "DocumentNotAvailable",
    "Issuer",
    "IssuerKey",
    "KeyRing",
    "OfflineLoader",
    "ProofResult",
    "Verdict",
    "build_credential",
    "canonicalize",
    "generate_private_key",
    "is_revoked",
    "issuer_profile",
    "key_document",
    "load_private_key",
    "public_key_multibase",
    "save_private_key",
    "set_bits",
    "sign",
    "status_list_credential",
    "verify_credential",
    "verify_proof",
]
