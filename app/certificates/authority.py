"""The portal as a certificate issuer: its signing key, its public documents, its verdicts.

A Flask extension (in `app.extensions["certificates"]`) so that the configuration (key,
public address, issuer name) is read in one place. The signing key comes from
CREDENTIAL_SIGNING_KEY (a PEM, or a path to one) in production; in development one is
generated under instance/ on first use. Every public key that ever signed is recorded in the
`signing_keys` table and stays published, so rotating the key keeps old credentials valid.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.credentials import (
    Achievement,
    Issuer,
    IssuerKey,
    KeyRing,
    Verdict,
    build_credential,
    generate_private_key,
    issuer_profile,
    load_private_key,
    save_private_key,
    sign,
    status_list_credential,
)
from app.credentials.keys import key_document, private_key_from_pem, public_key_from_multibase
from app.credentials.verify import verify_credential_json
from app.models import Certificate, CourseVersion, SigningKey, utcnow
from app.services import certificates

STATUS_LIST_PATH = "/credentials/status/1"


class CertificateAuthority:
    """Signs certificates' credentials and answers for the portal's keys and status list."""

    def __init__(self, app: Flask | None = None) -> None:
        self._lock = threading.Lock()
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        app.extensions["certificates"] = self
        app.extensions["certificates.key"] = None

    # --- configuration ----------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return current_app.config["PUBLIC_BASE_URL"].rstrip("/")

    @property
    def issuer(self) -> Issuer:
        return Issuer(
            id=f"{self.base_url}/issuer",
            name=current_app.config["ISSUER_NAME"],
            url=f"{self.base_url}/",
        )

    def signing_key(self) -> IssuerKey:
        """The current key, loaded once per application."""
        cached = current_app.extensions.get("certificates.key")
        if cached is not None:
            return cached
        with self._lock:
            configured = current_app.config.get("CREDENTIAL_SIGNING_KEY")
            if configured:
                text = configured.strip()
                private = (
                    private_key_from_pem(text.encode())
                    if text.startswith("-----BEGIN")
                    else load_private_key(Path(text))
                )
            else:
                path = Path(current_app.instance_path) / "credential-signing-key.pem"
                if not path.exists():
                    path.parent.mkdir(parents=True, exist_ok=True)
                    save_private_key(path, generate_private_key())  # owner-only, never replaced
                private = load_private_key(path)
            key = IssuerKey(private, controller=self.issuer.id)
            current_app.extensions["certificates.key"] = key
            return key

    def record_key(self, session: Session) -> None:
        """Make sure the current public key is in the table of keys that ever signed.

        Many requests may be the first to sign at once: the insert ignores a duplicate.
        """
        key = self.signing_key()
        if session.scalar(select(SigningKey.id).where(SigningKey.key_id == key.kid)) is not None:
            return
        insert = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}[
            session.get_bind().dialect.name
        ]
        session.execute(
            insert(SigningKey)
            .values(
                key_id=key.kid,
                public_key_multibase=key.public_key_multibase,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
        )

    def key_ring(self, session: Session) -> KeyRing:
        ring = KeyRing()
        for row in session.scalars(select(SigningKey)):
            ring.add(
                self.issuer.id, public_key_from_multibase(row.public_key_multibase), kid=row.key_id
            )
        return ring

    # --- issuing ----------------------------------------------------------------------

    def credential_for(self, certificate: Certificate, version: CourseVersion) -> dict[str, Any]:
        """The signed Open Badges 3.0 credential of a certificate (a CertificateSigner)."""
        course = version.course
        achievement = Achievement(
            id=f"{self.base_url}/courses/{course.slug}/versions/{version.number}",
            name=certificate.course_title,
            description=version.summary,
            criteria=(
                f"Completed every lesson and passed every quiz of version {version.number} of "
                f"the course {certificate.course_title!r} on the RSO Learning Portal."
            ),
            version=str(version.number),
            hours=certificate.hours,
        )
        credential = build_credential(
            credential_id=f"{self.base_url}/verify/{certificate.code}",
            issuer=self.issuer,
            learner_name=certificate.learner_name,
            achievement=achievement,
            valid_from=certificate.issued_at,
            valid_until=certificate.expires_at,
            status_list_url=f"{self.base_url}{STATUS_LIST_PATH}",
            status_index=certificate.status_index,
        )
        return sign(credential, self.signing_key(), created=certificate.issued_at)

    def issue(
        self, session: Session, enrollment: Any, version: CourseVersion
    ) -> Certificate | None:
        self.record_key(session)
        return certificates.issue(
            session,
            enrollment,
            version,
            signer=self,
            issuer_name=current_app.config["ISSUER_NAME"],
        )

    def reissue(self, session: Session, certificate: Certificate, *, by: Any) -> Certificate:
        self.record_key(session)
        return certificates.reissue(
            session,
            certificate,
            by=by,
            signer=self,
            issuer_name=current_app.config["ISSUER_NAME"],
        )

    # --- public documents ---------------------------------------------------------------

    def profile(self, session: Session) -> dict[str, Any]:
        self.record_key(session)
        keys = [
            (row.key_id, public_key_from_multibase(row.public_key_multibase))
            for row in session.scalars(select(SigningKey).order_by(SigningKey.id))
        ]
        return issuer_profile(self.issuer, keys)

    def key_document(self, session: Session, kid: str) -> dict[str, Any] | None:
        row = session.scalar(select(SigningKey).where(SigningKey.key_id == kid))
        if row is None:
            return None
        return key_document(
            self.issuer.id, public_key_from_multibase(row.public_key_multibase), kid=row.key_id
        )

    def status_list(self, session: Session, *, now: datetime | None = None) -> dict[str, Any]:
        """The signed revocation list, with every revoked certificate's bit set."""
        self.record_key(session)
        return status_list_credential(
            list_url=f"{self.base_url}{STATUS_LIST_PATH}",
            key=self.signing_key(),
            revoked=certificates.revoked_indexes(session),
            valid_from=now or utcnow(),
            length=certificates.STATUS_LIST_LENGTH,
        )

    def verify(
        self, session: Session, credential: bytes | str, *, now: datetime | None = None
    ) -> Verdict:
        """Check a credential file (JSON text) against our keys and current status list."""
        now = now or utcnow()
        list_url = f"{self.base_url}{STATUS_LIST_PATH}"
        status = self.status_list(session, now=now)
        return verify_credential_json(
            credential,
            resolve_key=self.key_ring(session),
            fetch_status_list=lambda url: status if url == list_url else None,
            now=now,
        )
