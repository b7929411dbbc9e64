"""What a learner does with a certificate: print it, share it, link it from a profile."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import current_app

from app.models import Certificate

STATUS_NOTES = {"revoked": "Revoked", "expired": "Expired"}


def verify_url(certificate: Certificate) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/verify/{certificate.code}"


def pdf_of(certificate: Certificate, *, status: str = "valid") -> bytes:
    """The PDF of exactly what the certificate records (never today's name or title)."""
    from app.certificates.pdf import CertificateFacts, render_certificate_pdf  # 40 MB: see __init__

    return render_certificate_pdf(
        CertificateFacts(
            learner_name=certificate.learner_name,
            course_title=certificate.course_title,
            completed_on=certificate.issued_at.date(),
            course_version=certificate.course_version,
            hours=certificate.hours,
            issuer_name=certificate.issuer_name,
            code=certificate.code,
            verify_url=verify_url(certificate),
            status_note=STATUS_NOTES.get(status),
        )
    )


def linkedin_url(certificate: Certificate) -> str:
    """LinkedIn's "Add to profile" form, filled in for this certificate."""
    query = {
        "startTask": "CERTIFICATION_NAME",
        "name": certificate.course_title,
        "organizationName": certificate.issuer_name,
        "issueYear": certificate.issued_at.year,
        "issueMonth": certificate.issued_at.month,
        "certUrl": verify_url(certificate),
        "certId": certificate.code,
    }
    if certificate.expires_at is not None:
        query["expirationYear"] = certificate.expires_at.year
        query["expirationMonth"] = certificate.expires_at.month
    return "https://www.linkedin.com/profile/add?" + urlencode(query)
