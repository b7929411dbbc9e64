"""Two-factor sign-in: TOTP codes from an authenticator app (RFC 6238) and recovery codes."""

from __future__ import annotations

import base64
import hmac
import secrets
from datetime import UTC, datetime

import pyotp
import segno

from app.services.passwords import hash_password, verify_password

ISSUER = "RSO Learning Portal"

# One step either way: a phone clock a little off, or a code typed just as it rolled over.
DRIFT_STEPS = 1
QR_SIZE_PX = 200
# Lower case letters and digits, without 0/o, 1/l/i that are misread when copied from paper.
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
RECOVERY_LENGTH = 10


def new_secret() -> str:
    """A new TOTP secret: 160 random bits (RFC 4226's recommendation) as 32 base32 letters."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def provisioning_uri(secret: str, account: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    """The URI as a QR code, an SVG data: URI about 200 px wide, for an <img src>."""
    qr = segno.make(uri, error="m")
    width, _ = qr.symbol_size(scale=1)
    return qr.svg_data_uri(scale=QR_SIZE_PX / width)


def verify_code(
    secret: str, code: str, *, last_used_step: int | None, now: datetime | None = None
) -> int | None:
    """The time step the code belongs to when valid and not yet used, else None."""
    typed = "".join(code.split())
    if len(typed) != 6 or not (typed.isascii() and typed.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now if now is not None else datetime.now(UTC))
    for step in (current, current - DRIFT_STEPS, current + DRIFT_STEPS):
        # A code whose step is not after the last one used is a replay, even within the window.
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


def new_recovery_codes(count: int = 10) -> tuple[list[str], list[str]]:
    """(codes to show once, their argon2 hashes to store); codes look like xxxxx-xxxxx."""
    raw: set[str] = set()
    while len(raw) < count:
        raw.add("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH)))
    codes = [f"{code[:5]}-{code[5:]}" for code in sorted(raw)]
    return codes, [hash_password(code) for code in sorted(raw)]


def use_recovery_code(hashes: list[str], code: str) -> list[str] | None:
    """The remaining hashes when the code matches one (now spent), else None."""
    typed = "".join(code.split()).replace("-", "").lower()
    # A code that cannot be one of ours is refused before paying for argon2 verifications.
    if len(typed) != RECOVERY_LENGTH or not set(typed) <= set(RECOVERY_ALPHABET):
        return None
    for index, stored in enumerate(hashes):
        if verify_password(stored, typed):
            return hashes[:index] + hashes[index + 1 :]
    return None
