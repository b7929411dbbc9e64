"""Admins write and publish courses here, in the same Markdown as courses/."""

from __future__ import annotations

from flask import Blueprint, abort
from flask_login import current_user, login_required

from app import policy

bp = Blueprint("studio", __name__, url_prefix="/admin/courses")


@bp.before_request
@login_required
def admins_only():
    if not policy.can_author(current_user):
        abort(403)
