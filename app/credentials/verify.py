"""Verify a certificate credential offline: shape, signature, issuer key, dates, revocation.

`verify_credential` answers with a `Verdict` whose status is one of STATUSES and whose
reasons say why, in words a person can act on. It never raises on bad input. The checks run
in this order and the first failing one decides the status:

1. "malformed": not a JSON object, not a VC 2.0 credential, no issuer, bad dates, no proof,
   an unusable proof (wrong cryptosuite, say) or, found while checking the signature, a
   document that cannot be canonicalised (a term its contexts do not define, say);
2. "unknown issuer key": the proof's key is not under the issuer's profile URL, or
   `resolve_key` does not know it;
3. "invalid signature": the signature does not match (the credential was changed, or
   signed by another key);
4. "revoked": its bit is set in the issuer's signed status list (checked only when
   `fetch_status_list` is given and returns that list);
5. "expired" (now is after validUntil) and "not yet valid" (now is before validFrom);
6. otherwise "valid".

`revocation_checked` tells whether step 4 ran to a conclusion. When it could not (no list
fetched, or a list whose own proof fails), the verdict says so in its reasons and stays
"valid" if nothing else is wrong: use `Verdict.trustworthy` to require the check.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.credentials.keys import controller_of
from app.credentials.loader import VC_V2_CONTEXT, OfflineLoader
from app.credentials.proof import (
    INVALID_SIGNATURE,
    UNKNOWN_KEY,
    KeyResolver,
    parse_datetime,
    verify_proof,
)
from app.credentials.status_list import (
    REVOCATION,
    StatusListError,
    bit_is_set,
    decode_bits,
    list_of,
    parse_index,
)

VALID = "valid"
REVOKED = "revoked"
EXPIRED = "expired"
NOT_YET_VALID = "not yet valid"
INVALID = "invalid signature"
UNKNOWN_ISSUER_KEY = "unknown issuer key"
MALFORMED = "malformed"
STATUSES = (VALID, REVOKED, EXPIRED, NOT_YET_VALID, INVALID, UNKNOWN_ISSUER_KEY, MALFORMED)

StatusListFetcher = Callable[[str], Mapping[str, Any] | None]
# A certificate credential is a few kilobytes; a verification page need not parse more.
MAX_JSON_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    status: str
    reasons: tuple[str, ...] = ()
    revocation_checked: bool = False
    credential_id: str | None = None
    issuer_id: str | None = None
    verification_method: str | None = None
    has_status: bool = False  # the credential has a credentialStatus entry

    @property
    def valid(self) -> bool:
        return self.status == VALID

    @property
    def trustworthy(self) -> bool:
        """Valid, and not revoked to the best of a completed status check (if it has one)."""
        return self.valid and (self.revocation_checked or not self.has_status)


def _types(value: object) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value] if value is not None else []


def _issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) and issuer else None


def _structure_problems(document: Mapping[str, Any], kind: str) -> list[str]:
    problems = []
    context = document.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_V2_CONTEXT:
        problems.append(f"@context must be a list starting with {VC_V2_CONTEXT}")
    if not {"VerifiableCredential", kind} <= set(
        item for item in _types(document.get("type")) if isinstance(item, str)
    ):
        problems.append(f"type must include VerifiableCredential and {kind}")
    if _issuer_id(document) is None:
        problems.append("the issuer has no id")
    if not isinstance(document.get("credentialSubject"), (Mapping, list)):
        problems.append("there is no credentialSubject")
    if "validFrom" in document and parse_datetime(document["validFrom"]) is None:
        problems.append(f"validFrom {document['validFrom']!r} is not a date-time with a zone")
    if "validUntil" in document and parse_datetime(document["validUntil"]) is None:
        problems.append(f"validUntil {document['validUntil']!r} is not a date-time with a zone")
    if "proof" not in document:
        problems.append("there is no proof: the credential is not signed")
    return problems


def _check_signature(
    document: Mapping[str, Any],
    issuer_id: str,
    resolve_key: KeyResolver,
    loader: OfflineLoader | None,
    now: datetime,
) -> tuple[str | None, list[str], str | None]:
    """(failing status or None, reasons, verification method) for a document's proof."""
    proof = document.get("proof")
    method = proof.get("verificationMethod") if isinstance(proof, Mapping) else None
    if isinstance(method, str) and controller_of(method) != issuer_id:
        return (
            UNKNOWN_ISSUER_KEY,
            [f"it is signed with key {method}, which is not one of issuer {issuer_id}'s keys"],
            method,
        )
    result = verify_proof(document, resolve_key=resolve_key, loader=loader, now=now)
    if result.verified:
        return None, [], result.verification_method
    status = {UNKNOWN_KEY: UNKNOWN_ISSUER_KEY, INVALID_SIGNATURE: INVALID}.get(
        result.problem or "", MALFORMED
    )
    return status, list(result.errors), result.verification_method


def _dates(document: Mapping[str, Any], now: datetime) -> tuple[str | None, str | None]:
    valid_from = parse_datetime(document.get("validFrom"))
    valid_until = parse_datetime(document.get("validUntil"))
    if valid_until is not None and now > valid_until:
        return EXPIRED, f"it expired on {document['validUntil']}"
    if valid_from is not None and now < valid_from:
        return NOT_YET_VALID, f"it is valid only from {document['validFrom']}"
    return None, None


def _entries(document: Mapping[str, Any]) -> list[Any]:
    status = document.get("credentialStatus")
    return status if isinstance(status, list) else [status] if status is not None else []


def _check_revocation(
    document: Mapping[str, Any],
    issuer_id: str,
    resolve_key: KeyResolver,
    fetch_status_list: StatusListFetcher,
    loader: OfflineLoader | None,
    now: datetime,
) -> tuple[bool | None, list[str]]:
    """(revoked?, reasons); revoked is None when the status could not be established."""
    entries = [
        entry
        for entry in _entries(document)
        if isinstance(entry, Mapping)
        and entry.get("type") == "BitstringStatusListEntry"
        and entry.get("statusPurpose") == REVOCATION
    ]
    if not entries:
        return None, ["it has no revocation status entry this verifier understands"]
    reasons: list[str] = []
    revoked = False
    for entry in entries:
        url = entry.get("statusListCredential")
        try:
            index = parse_index(entry.get("statusListIndex"))
        except StatusListError as error:
            return None, [str(error)]
        if not isinstance(url, str):
            return None, ["its status entry names no statusListCredential URL"]
        try:
            status_list = fetch_status_list(url)
        except Exception as error:  # a fetcher's failure is "could not check"
            return None, [f"the status list {url} could not be fetched: {error}"]
        if status_list is None:
            return None, [f"the status list {url} is not available"]
        problem = _status_list_problem(status_list, url, issuer_id, resolve_key, loader, now)
        if problem:
            return None, [f"the status list {url} was not accepted: {problem}"]
        try:
            subject = list_of(status_list)
            if subject.get("statusPurpose") != REVOCATION:
                return None, [f"the status list {url} is not a revocation list"]
            bit = bit_is_set(decode_bits(subject.get("encodedList")), index)
        except StatusListError as error:
            return None, [f"the status list {url} cannot be read: {error}"]
        if bit:
            revoked = True
            reasons.append(f"the issuer revoked it (bit {index} of {url} is set)")
    return revoked, reasons


def _status_list_problem(
    status_list: object,
    url: str,
    issuer_id: str,
    resolve_key: KeyResolver,
    loader: OfflineLoader | None,
    now: datetime,
) -> str | None:
    if not isinstance(status_list, Mapping):
        return "it is not a JSON object"
    problems = _structure_problems(status_list, "BitstringStatusListCredential")
    if problems:
        return "; ".join(problems)
    if status_list.get("id") != url:
        return f"its id is {status_list.get('id')!r}, not the URL it was fetched from"
    if _issuer_id(status_list) != issuer_id:
        return "it is issued by someone other than the credential's issuer"
    failure, reasons, _ = _check_signature(status_list, issuer_id, resolve_key, loader, now)
    if failure:
        return f"{failure}: " + "; ".join(reasons)
    date_problem, reason = _dates(status_list, now)
    if date_problem:
        return f"{date_problem}: {reason}"
    return None


def verify_credential(
    document: object,
    *,
    resolve_key: KeyResolver,
    fetch_status_list: StatusListFetcher | None = None,
    now: datetime,
    loader: OfflineLoader | None = None,
) -> Verdict:
    """Everything a verifier can tell about a certificate credential.

    Never raises on bad input; `now` must be an aware datetime (a caller's mistake raises).
    """
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    try:
        return _verify(document, resolve_key, fetch_status_list, now, loader)
    except Exception as error:  # a verifier reports, it does not crash
        return Verdict(MALFORMED, (f"the credential could not be processed: {error}",))


def _verify(
    document: object,
    resolve_key: KeyResolver,
    fetch_status_list: StatusListFetcher | None,
    now: datetime,
    loader: OfflineLoader | None,
) -> Verdict:
    if not isinstance(document, Mapping):
        return Verdict(MALFORMED, ("the credential is not a JSON object",))
    problems = _structure_problems(document, "OpenBadgeCredential")
    if "validFrom" not in document:
        problems.append("it has no validFrom")
    credential_id = document.get("id") if isinstance(document.get("id"), str) else None
    issuer_id = _issuer_id(document)
    has_status = bool(_entries(document))
    if problems or issuer_id is None:
        return Verdict(
            MALFORMED, tuple(problems), False, credential_id, issuer_id, None, has_status
        )

    failure, reasons, method = _check_signature(document, issuer_id, resolve_key, loader, now)
    if failure:
        return Verdict(failure, tuple(reasons), False, credential_id, issuer_id, method, has_status)

    reasons = []
    revoked: bool | None = None
    if has_status and fetch_status_list is not None:
        revoked, status_reasons = _check_revocation(
            document, issuer_id, resolve_key, fetch_status_list, loader, now
        )
        reasons.extend(status_reasons)
        if revoked is None:
            reasons.append("its revocation status could not be checked")
    elif has_status:
        reasons.append("its revocation status was not checked")
    checked = revoked is not None

    date_status, date_reason = _dates(document, now)
    if revoked:
        status = REVOKED
        if date_reason:
            reasons.append(f"also, {date_reason}")
    elif date_status:
        status = date_status
        reasons.insert(0, date_reason or date_status)
    else:
        status = VALID
    return Verdict(status, tuple(reasons), checked, credential_id, issuer_id, method, has_status)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def verify_credential_json(
    data: str | bytes,
    *,
    resolve_key: KeyResolver,
    fetch_status_list: StatusListFetcher | None = None,
    now: datetime,
    loader: OfflineLoader | None = None,
) -> Verdict:
    """`verify_credential` of a credential file as uploaded or pasted (JSON text)."""
    if len(data) > MAX_JSON_BYTES:
        return Verdict(MALFORMED, (f"the file is larger than {MAX_JSON_BYTES} bytes",))
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        document = json.loads(text, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        return Verdict(MALFORMED, (f"the file is not valid JSON: {error}",))
    return verify_credential(
        document,
        resolve_key=resolve_key,
        fetch_status_list=fetch_status_list,
        now=now,
        loader=loader,
    )
