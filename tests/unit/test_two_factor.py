"""TOTP codes (RFC 6238) with drift and replay protection, QR enrolment and recovery codes."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest

from app.services.passwords import verify_password
from app.services.two_factor import (
    ISSUER,
    RECOVERY_ALPHABET,
    new_recovery_codes,
    new_secret,
    provisioning_uri,
    qr_svg_data_uri,
    use_recovery_code,
    verify_code,
)

# A fixed secret and instant keep the codes of neighbouring steps known to differ.
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2025, 3, 14, 9, 26, 53, tzinfo=UTC)
STEP = 30
TOTP = pyotp.TOTP(SECRET)
CURRENT = int(NOW.timestamp()) // STEP


def code_at(steps_from_now: int) -> str:
    return TOTP.at(NOW + timedelta(seconds=STEP * steps_from_now))


def test_codes_of_neighbouring_steps_differ() -> None:
    codes = [code_at(offset) for offset in range(-2, 3)]
    assert len(set(codes)) == len(codes)


def test_current_code_verifies_and_returns_its_step() -> None:
    assert verify_code(SECRET, TOTP.at(NOW), last_used_step=None, now=NOW) == CURRENT


@pytest.mark.parametrize("offset", [-1, 1])
def test_one_step_of_clock_drift_is_accepted(offset: int) -> None:
    assert verify_code(SECRET, code_at(offset), last_used_step=None, now=NOW) == CURRENT + offset


@pytest.mark.parametrize("offset", [-2, 2])
def test_code_two_steps_away_is_refused(offset: int) -> None:
    assert verify_code(SECRET, code_at(offset), last_used_step=None, now=NOW) is None


def test_replay_of_the_same_step_is_refused() -> None:
    step = verify_code(SECRET, code_at(0), last_used_step=None, now=NOW)
    assert step == CURRENT
    assert verify_code(SECRET, code_at(0), last_used_step=step, now=NOW) is None


def test_code_of_a_step_before_the_last_used_is_refused() -> None:
    assert verify_code(SECRET, code_at(-1), last_used_step=CURRENT, now=NOW) is None


def test_next_step_is_accepted_after_the_previous_was_used() -> None:
    assert verify_code(SECRET, code_at(0), last_used_step=CURRENT - 1, now=NOW) == CURRENT


def test_wrong_code_is_refused() -> None:
    window = {code_at(offset) for offset in (-1, 0, 1)}
    wrong = next(f"{n:06d}" for n in range(1_000_000) if f"{n:06d}" not in window)
    assert verify_code(SECRET, wrong, last_used_step=None, now=NOW) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "１２３４５６"])
def test_malformed_code_is_refused(typed: str) -> None:
    assert verify_code(SECRET, typed, last_used_step=None, now=NOW) is None


def test_code_with_spaces_verifies() -> None:
    code = code_at(0)
    typed = f" {code[:3]} {code[3:]} "
    assert verify_code(SECRET, typed, last_used_step=None, now=NOW) == CURRENT


def test_now_defaults_to_the_current_time() -> None:
    secret = new_secret()
    assert verify_code(secret, pyotp.TOTP(secret).now(), last_used_step=None) is not None


def test_new_secret_is_random_base32_of_160_bits() -> None:
    secret = new_secret()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert secret != new_secret()


def test_provisioning_uri_names_the_issuer_and_account() -> None:
    parts = urlsplit(provisioning_uri(SECRET, "learner@example.org"))
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc) == ("otpauth", "totp")
    assert unquote(parts.path) == f"/{ISSUER}:learner@example.org"
    assert query["issuer"] == [ISSUER]
    assert query["secret"] == [SECRET]


def test_qr_data_uri_is_an_svg_of_about_200_pixels() -> None:
    data_uri = qr_svg_data_uri(provisioning_uri(SECRET, "learner@example.org"))
    assert data_uri.startswith("data:image/svg+xml")
    header, _, payload = data_uri.partition(",")
    svg = unquote(payload)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "<path" in svg
    size = re.search(r"width=['\"]([\d.]+)['\"] height=['\"]([\d.]+)['\"]", svg)
    assert size is not None
    width, height = float(size[1]), float(size[2])
    assert width == height
    assert 180 <= width <= 220


@pytest.fixture(scope="module")
def recovery() -> tuple[list[str], list[str]]:
    return new_recovery_codes()


def test_ten_unique_recovery_codes_are_made(recovery: tuple[list[str], list[str]]) -> None:
    codes, hashes = recovery
    assert len(codes) == len(set(codes)) == 10
    assert len(hashes) == len(set(hashes)) == 10


def test_recovery_codes_are_easy_to_type(recovery: tuple[list[str], list[str]]) -> None:
    codes, _ = recovery
    letters = re.escape(RECOVERY_ALPHABET)
    assert not set("0o1li") & set(RECOVERY_ALPHABET)
    for code in codes:
        assert re.fullmatch(rf"[{letters}]{{5}}-[{letters}]{{5}}", code), code


def test_only_hashes_of_recovery_codes_are_kept(recovery: tuple[list[str], list[str]]) -> None:
    codes, hashes = recovery
    for code, stored in zip(codes, hashes, strict=True):
        assert stored.startswith("$argon2id$")
        assert code.replace("-", "") not in stored
        assert verify_password(stored, code.replace("-", ""))


def test_each_recovery_code_works_once() -> None:
    codes, hashes = new_recovery_codes(3)
    remaining = hashes
    for code in reversed(codes):
        after = use_recovery_code(remaining, code)
        assert after is not None
        assert len(after) == len(remaining) - 1
        assert use_recovery_code(after, code) is None
        remaining = after
    assert remaining == []


def test_wrong_recovery_code_is_refused(recovery: tuple[list[str], list[str]]) -> None:
    codes, hashes = recovery
    well_formed = next(
        candidate
        for candidate in ("abcde-fghjk", "zzzzz-zzzzz", "22222-22222")
        if candidate not in codes
    )
    assert use_recovery_code(hashes, well_formed) is None
    assert use_recovery_code(hashes, "not-a-code") is None
    assert use_recovery_code(hashes, codes[0] + "x") is None


@pytest.mark.parametrize(
    "retype",
    [str.upper, lambda code: code.replace("-", ""), lambda code: code.replace("-", " ")],
    ids=["upper case", "no hyphen", "space for hyphen"],
)
def test_recovery_code_is_insensitive_to_case_and_separators(
    recovery: tuple[list[str], list[str]], retype: Callable[[str], str]
) -> None:
    codes, hashes = recovery
    remaining = use_recovery_code(hashes, f" {retype(codes[-1])} ")
    assert remaining == hashes[:-1]
