"""Completion certificates: the printable PDF of a certificate."""

from app.certificates.pdf import CertificateFacts, render_certificate_pdf

__all__ = ["CertificateFacts", "render_certificate_pdf"]
