"""The application factory: extensions, blueprints, CLI, error pages. Nothing else."""

from __future__ import annotations

import sys

from flask import Flask

from app.application import Portal
from config import BASE_DIR, INSTANCE_DIR, Config, config_from_environment


def create_app(config: type[Config] | None = None) -> Flask:
    config = config or config_from_environment()
    validate = getattr(config, "validate", None)
    if validate is not None:
        validate()
    app = Portal(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_object(config)

    from app import compression, static_files
    from app import logging as structured_logging

    structured_logging.init_app(app)
    # First of the response hooks, so the compressor runs last, on the final body.
    compression.init_app(app)
    static_files.init_app(app)
    if app.config["PROXY_FIX_HOPS"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from app import cli, errors, security
    from app.admin.views import bp as admin_bp
    from app.api.views import bp as api_bp
    from app.auth.session import (
        SessionCookie,
        init_login,
        no_store_when_signed_in,
        require_two_factor_for_staff,
        reuse_signed_csrf_token,
    )
    from app.auth.views import bp as auth_bp
    from app.auth.views import invitations_bp
    from app.extensions import (
        certificate_authority,
        db,
        emit_sqlite_begin,
        init_csrf,
        init_limiter,
        login_manager,
        sqlite_engine_options,
    )
    from app.focal.views import bp as focal_bp
    from app.learn.views import bp as learn_bp
    from app.studio.views import bp as studio_bp
    from app.verify.views import bp as verify_bp

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = sqlite_engine_options(
            app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {}
        )
    db.init_app(app)
    if "gunicorn" not in sys.modules:
        # Flask-Migrate and alembic (11 MB a process) serve the `flask db` commands alone,
        # which a process started by gunicorn never runs.
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(BASE_DIR / "migrations"))
    init_csrf(app)
    app.session_interface = SessionCookie()
    login_manager.init_app(app)
    init_login(login_manager)
    init_limiter(app)
    certificate_authority.init_app(app)
    with app.app_context():
        emit_sqlite_begin(db.engine)

    app.register_blueprint(learn_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(invitations_bp)
    app.register_blueprint(focal_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(studio_bp)
    from app.web import fixed_url

    app.add_template_global(fixed_url)
    app.before_request(require_two_factor_for_staff)
    app.before_request(reuse_signed_csrf_token)
    app.after_request(no_store_when_signed_in)
    errors.register(app)
    security.register(app)
    cli.register(app)
    return app
