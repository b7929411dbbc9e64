"""Anyone can check a certificate by its code or QR, and see nothing else."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)

from app.extensions import certificate_authority, db, limiter
from app.models import REVOCATION_LABELS, utcnow
from app.services import audit, certificate_codes, certificates
from app.verify.forms import CodeForm
from app.web import client_ip, writes_on_get

bp = Blueprint("verify", __name__)


def _check_limit() -> str:
    return current_app.config["VERIFY_LIMIT_PER_ADDRESS"]


@bp.get("/verify")
@limiter.limit(_check_limit)
@writes_on_get
def start():
    """Type a code; a well-formed one goes to its page."""
    form = CodeForm(request.args)
    problem = None
    if request.args.get("code"):
        if form.validate():
            code, problem = certificate_codes.parse(form.code.data)
            if code is not None:
                return redirect(url_for("verify.show", code=code))
            _log(None, "mistyped")
    return render_template("verify/start.html", form=form, problem=problem)


@bp.get("/verify/<code>")
@limiter.limit(_check_limit)
@writes_on_get
def show(code: str):
    """What the certificate says and whether it holds, for anyone with the code."""
    result = certificates.verify_code(db.session, code)
    if result.status == "mistyped":
        form = CodeForm(data={"code": code})
        _log(None, "mistyped")
        return render_template("verify/start.html", form=form, problem=result.problem), 404
    _log(result.certificate, result.status)
    return render_template(
        "verify/show.html",
        result=result,
        code=code,
        reasons=REVOCATION_LABELS,
        now=utcnow(),
    ), (404 if result.certificate is None else 200)


def _log(certificate, status: str) -> None:  # noqa: ANN001
    audit.record(
        db.session,
        "certificate.checked",
        target=certificate,
        ip_address=client_ip(),
        result=status,
    )
    db.session.commit()


def _json_ld(document: dict, *, max_age: int) -> Response:
    response = current_app.response_class(
        json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False),
        mimetype="application/ld+json",
    )
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"  # verifiers fetch from anywhere
    return response


@bp.get("/issuer")
@writes_on_get
def issuer():
    """The issuer profile with every key that ever signed (its controller document)."""
    document = certificate_authority.profile(db.session)
    db.session.commit()
    return _json_ld(document, max_age=3600)


@bp.get("/credentials/status/1")
@writes_on_get
def status_list():
    """The signed revocation list. Short-lived in caches: a revocation must show quickly."""
    document = certificate_authority.status_list(db.session)
    db.session.commit()
    return _json_ld(document, max_age=60)


@bp.get("/verify/<code>/credential.json")
@limiter.limit(_check_limit)
def credential(code: str):
    """The signed credential of a certificate, for a wallet or an offline check."""
    result = certificates.verify_code(db.session, code)
    if result.certificate is None:
        abort(404)
    response = _json_ld(result.certificate.credential, max_age=300)
    filename = f"certificate-{result.certificate.code}.json"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/issuer/keys/<kid>")
def issuer_key(kid: str):
    """One signing key as a Multikey document (current or retired: old credentials verify)."""
    document = certificate_authority.key_document(db.session, kid)
    if document is None:
        abort(404)
    return _json_ld(document, max_age=86400)
