"""Signing in and out. The session loader lives here so every blueprint shares it."""

from __future__ import annotations

from flask_login import LoginManager

from app.extensions import db
from app.models import User


def init_login(login_manager: LoginManager) -> None:
    login_manager.login_view = None  # no sign-in page yet: protected views answer 401

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.is_active else None
