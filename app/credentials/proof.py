"""Data Integrity proofs with the `eddsa-rdfc-2022` cryptosuite (W3C vc-di-eddsa, section 3.3).

Signing:
1. canonicalise the document without its proof (RDFC-1.0, `canonical.py`);
2. canonicalise the proof configuration (the proof without `proofValue`, given the
   document's `@context`);
3. hash both with SHA-256 and concatenate: hash(proof configuration) || hash(document);
4. sign those 64 bytes with Ed25519; `proofValue` is the signature in multibase base58btc.

Verification redoes 1-3 from the received document and checks the signature with the public
key that `resolve_key` returns for the proof's `verificationMethod`. It never raises on bad
input: every problem is reported in the `ProofResult`.
"""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from app.credentials.canonical import CanonicalizationError, canonicalize
from app.credentials.keys import IssuerKey
from app.credentials.loader import OfflineLoader
from app.credentials.multibase import MultibaseError, decode_base58btc, encode_base58btc

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"

KeyResolver = Callable[[str], Ed25519PublicKey | None]

# What went wrong, for callers that act on it (verify.py maps these to its verdicts).
MALFORMED = "malformed"
UNKNOWN_KEY = "unknown key"
INVALID_SIGNATURE = "invalid signature"

# XML Schema dateTimeStamp: a date-time with a time zone.
_DATE_TIME_STAMP = re.compile(
    r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$"
)


class ProofError(ValueError):
    """A document that cannot be signed as asked."""


@dataclass(frozen=True)
class ProofResult:
    """The outcome of checking one document's proof."""

    verified: bool
    errors: tuple[str, ...] = ()
    problem: str | None = None  # MALFORMED | UNKNOWN_KEY | INVALID_SIGNATURE when not verified
    verification_method: str | None = None


def format_datetime(moment: datetime) -> str:
    """A UTC dateTimeStamp to the second, as credentials write them: 2025-01-31T09:30:00Z."""
    if moment.tzinfo is None:
        raise ValueError("use an aware datetime (UTC)")
    return moment.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datetime(value: object) -> datetime | None:
    """An aware datetime from a dateTimeStamp string, or None when it is not one."""
    if not isinstance(value, str) or not _DATE_TIME_STAMP.match(value):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- the three steps, exposed for the published test vectors ---------------------------


def canonical_document(unsecured: Mapping[str, Any], *, loader: OfflineLoader | None = None) -> str:
    """Step 1 (transformation): canonical N-Quads of the document without its proof."""
    document = {key: value for key, value in unsecured.items() if key != "proof"}
    return canonicalize(document, loader=loader)


def canonical_proof_configuration(
    proof_options: Mapping[str, Any], context: Any, *, loader: OfflineLoader | None = None
) -> str:
    """Step 2 (proof configuration): the proof without `proofValue`, under `context`."""
    configuration = {key: value for key, value in proof_options.items() if key != "proofValue"}
    configuration["@context"] = copy.deepcopy(context)
    return canonicalize(configuration, loader=loader)


def hash_data(canonical_configuration: str, canonical_doc: str) -> bytes:
    """Step 3 (hashing): SHA-256(proof configuration) || SHA-256(document), 64 bytes."""
    return (
        hashlib.sha256(canonical_configuration.encode("utf-8")).digest()
        + hashlib.sha256(canonical_doc.encode("utf-8")).digest()
    )


# --- signing ----------------------------------------------------------------------------


def add_proof(
    document: Mapping[str, Any],
    private_key: Ed25519PrivateKey,
    verification_method: str,
    *,
    created: datetime | str | None = None,
    loader: OfflineLoader | None = None,
) -> dict[str, Any]:
    """A copy of `document` with an eddsa-rdfc-2022 `proof` for the assertionMethod purpose.

    Raises ProofError if the document already has a proof or cannot be canonicalised (a term
    its contexts do not define, say): signing it would leave data unsigned.
    """
    if not isinstance(document, Mapping):
        raise ProofError("only a JSON object can be signed")
    if "proof" in document:
        raise ProofError("the document already has a proof")
    if "@context" not in document:
        raise ProofError("the document has no @context")
    options: dict[str, Any] = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE}
    if created is not None:
        options["created"] = format_datetime(created) if isinstance(created, datetime) else created
        if parse_datetime(options["created"]) is None:
            raise ProofError(f"created {options['created']!r} is not a dateTimeStamp")
    options["verificationMethod"] = verification_method
    options["proofPurpose"] = PROOF_PURPOSE
    try:
        data = hash_data(
            canonical_proof_configuration(options, document["@context"], loader=loader),
            canonical_document(document, loader=loader),
        )
    except CanonicalizationError as error:
        raise ProofError(f"cannot sign: {error}") from error
    signed = copy.deepcopy(dict(document))
    signed["proof"] = {**options, "proofValue": encode_base58btc(private_key.sign(data))}
    return signed


def sign(
    document: Mapping[str, Any],
    key: IssuerKey,
    *,
    created: datetime | str | None = None,
    loader: OfflineLoader | None = None,
) -> dict[str, Any]:
    """`add_proof` with the portal's issuer key."""
    return add_proof(
        document, key.private_key, key.verification_method, created=created, loader=loader
    )


# --- verification -----------------------------------------------------------------------


def _failure(problem: str, *errors: str, method: str | None = None) -> ProofResult:
    return ProofResult(False, tuple(errors), problem, method)


def _check_options(proof: Mapping[str, Any], now: datetime | None) -> list[str]:
    errors = []
    if proof.get("type") != PROOF_TYPE:
        errors.append(f"proof type is {proof.get('type')!r}, expected {PROOF_TYPE!r}")
    if proof.get("cryptosuite") != CRYPTOSUITE:
        errors.append(f"cryptosuite is {proof.get('cryptosuite')!r}, expected {CRYPTOSUITE!r}")
    if proof.get("proofPurpose") != PROOF_PURPOSE:
        errors.append(f"proofPurpose is {proof.get('proofPurpose')!r}, expected {PROOF_PURPOSE!r}")
    if not isinstance(proof.get("verificationMethod"), str) or not proof["verificationMethod"]:
        errors.append("the proof has no verificationMethod URL")
    if "proofValue" not in proof:
        errors.append("the proof has no proofValue")
    if "created" in proof and parse_datetime(proof["created"]) is None:
        errors.append(f"proof created {proof['created']!r} is not a dateTimeStamp")
    if "expires" in proof:
        expires = parse_datetime(proof["expires"])
        if expires is None:
            errors.append(f"proof expires {proof['expires']!r} is not a dateTimeStamp")
        elif now is not None and now > expires:
            errors.append(f"the proof expired at {proof['expires']}")
    return errors


def verify_proof(
    document: object,
    *,
    resolve_key: KeyResolver,
    loader: OfflineLoader | None = None,
    now: datetime | None = None,
) -> ProofResult:
    """Check the single eddsa-rdfc-2022 proof of `document`. Never raises."""
    try:
        return _verify_proof(document, resolve_key, loader, now)
    except Exception as error:  # a verifier reports, it does not crash
        return _failure(MALFORMED, f"the document could not be processed: {error}")


def _verify_proof(
    document: object,
    resolve_key: KeyResolver,
    loader: OfflineLoader | None,
    now: datetime | None,
) -> ProofResult:
    if not isinstance(document, Mapping):
        return _failure(MALFORMED, "the document is not a JSON object")
    proof = document.get("proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            return _failure(
                MALFORMED, f"the document has {len(proof)} proofs; exactly one is supported"
            )
        proof = proof[0]
    if proof is None:
        return _failure(MALFORMED, "the document has no proof")
    if not isinstance(proof, Mapping):
        return _failure(MALFORMED, "the proof is not a JSON object")
    if "@context" not in document:
        return _failure(MALFORMED, "the document has no @context")

    method = proof.get("verificationMethod")
    method = method if isinstance(method, str) else None
    errors = _check_options(proof, now)
    if errors or method is None:
        return _failure(MALFORMED, *errors, method=method)

    unsecured = {key: value for key, value in document.items() if key != "proof"}
    options = {key: value for key, value in proof.items() if key != "proofValue"}
    if "@context" in options:
        # A proof may carry its own @context; the document's must then begin with it.
        proof_context = options["@context"]
        proof_context = proof_context if isinstance(proof_context, list) else [proof_context]
        document_context = unsecured["@context"]
        document_context = (
            document_context if isinstance(document_context, list) else [document_context]
        )
        if document_context[: len(proof_context)] != proof_context:
            return _failure(
                MALFORMED, "the proof's @context does not start the document's", method=method
            )
        unsecured["@context"] = options.pop("@context")

    try:
        signature = decode_base58btc(proof["proofValue"])
    except MultibaseError as error:
        return _failure(INVALID_SIGNATURE, f"proofValue: {error}", method=method)
    if len(signature) != 64:
        return _failure(
            INVALID_SIGNATURE,
            f"proofValue holds {len(signature)} bytes; an Ed25519 signature has 64",
            method=method,
        )

    try:
        public_key = resolve_key(method)
    except Exception as error:  # a resolver that fails is a key we cannot know
        return _failure(UNKNOWN_KEY, f"key {method} could not be resolved: {error}", method=method)
    if not isinstance(public_key, Ed25519PublicKey):
        return _failure(UNKNOWN_KEY, f"key {method} is not a known issuer key", method=method)

    try:
        data = hash_data(
            canonical_proof_configuration(options, unsecured["@context"], loader=loader),
            canonical_document(unsecured, loader=loader),
        )
    except CanonicalizationError as error:
        return _failure(MALFORMED, f"cannot canonicalise: {error}", method=method)

    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return _failure(
            INVALID_SIGNATURE,
            f"the signature does not match the document and key {method}: "
            "the credential was changed after signing, or signed by another key",
            method=method,
        )
    return ProofResult(True, (), None, method)
