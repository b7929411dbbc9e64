"""Countries: the Bali Process members seeded at set-up; admins add, rename and retire."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.models import Country, User
from app.services import audit
from app.services.errors import DomainError

# The Bali Process member States as commonly published (name, ISO alpha-2, ISO alpha-3).
BALI_PROCESS_MEMBERS: list[tuple[str, str, str]] = [
    ("Afghanistan", "AF", "AFG"),
    ("Australia", "AU", "AUS"),
    ("Bangladesh", "BD", "BGD"),
    ("Bhutan", "BT", "BTN"),
    ("Brunei Darussalam", "BN", "BRN"),
    ("Cambodia", "KH", "KHM"),
    ("China", "CN", "CHN"),
    ("Democratic People's Republic of Korea", "KP", "PRK"),
    ("Fiji", "FJ", "FJI"),
    ("France (New Caledonia)", "FR", "FRA"),
    ("Hong Kong SAR, China", "HK", "HKG"),
    ("India", "IN", "IND"),
    ("Indonesia", "ID", "IDN"),
    ("Iran (Islamic Republic of)", "IR", "IRN"),
    ("Iraq", "IQ", "IRQ"),
    ("Japan", "JP", "JPN"),
    ("Jordan", "JO", "JOR"),
    ("Kiribati", "KI", "KIR"),
    ("Lao People's Democratic Republic", "LA", "LAO"),
    ("Macao SAR, China", "MO", "MAC"),
    ("Malaysia", "MY", "MYS"),
    ("Maldives", "MV", "MDV"),
    ("Mongolia", "MN", "MNG"),
    ("Myanmar", "MM", "MMR"),
    ("Nauru", "NR", "NRU"),
    ("Nepal", "NP", "NPL"),
    ("New Zealand", "NZ", "NZL"),
    ("Pakistan", "PK", "PAK"),
    ("Palau", "PW", "PLW"),
    ("Papua New Guinea", "PG", "PNG"),
    ("Philippines", "PH", "PHL"),
    ("Republic of Korea", "KR", "KOR"),
    ("Samoa", "WS", "WSM"),
    ("Singapore", "SG", "SGP"),
    ("Solomon Islands", "SB", "SLB"),
    ("Sri Lanka", "LK", "LKA"),
    ("Syrian Arab Republic", "SY", "SYR"),
    ("Thailand", "TH", "THA"),
    ("Timor-Leste", "TL", "TLS"),
    ("Tonga", "TO", "TON"),
    ("Türkiye", "TR", "TUR"),
    ("United Arab Emirates", "AE", "ARE"),
    ("United States of America", "US", "USA"),
    ("Vanuatu", "VU", "VUT"),
    ("Viet Nam", "VN", "VNM"),
]


def seed_countries(session: Session) -> int:
    """Add the members that are missing (by code); never renames or removes. Returns how many."""
    existing = set(session.scalars(select(Country.code)))
    added = 0
    for name, code, code3 in BALI_PROCESS_MEMBERS:
        if code not in existing:
            session.add(Country(name=name, code=code, code3=code3))
            added += 1
    session.flush()
    return added


def active_countries(session: Session) -> list[Country]:
    return list(session.scalars(select(Country).where(Country.is_active).order_by(Country.name)))


def add_country(session: Session, *, name: str, code: str, code3: str | None, by: User) -> Country:
    country = Country(
        name=name.strip(), code=code.strip().upper(), code3=(code3 or "").strip().upper() or None
    )
    try:
        with session.begin_nested():
            session.add(country)
            session.flush()
    except IntegrityError:
        raise DomainError("A country with this name or code already exists.") from None
    audit.record(session, "country.added", actor=by, target=country, country_id=country.id)
    return country


def rename_country(session: Session, country: Country, *, name: str, by: User) -> None:
    previous = country.name
    country.name = name.strip()
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        country.name = previous
        raise DomainError("Another country already has this name.") from None
    audit.record(
        session,
        "country.renamed",
        actor=by,
        target=country,
        country_id=country.id,
        previous=previous,
    )


def people_per_country(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(User.country_id, func.count())
        .where(User.country_id.is_not(None))
        .group_by(User.country_id)
    )
    return {country_id: count for country_id, count in rows}
