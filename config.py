"""Configuration classes. Every setting can be overridden from the environment."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("INSTANCE_PATH", BASE_DIR / "instance"))

# Used only by the development and test configurations; production refuses to start with it.
DEVELOPMENT_SECRET = "development-only-secret-not-for-production"  # noqa: S105


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """The embedded default: a SQLite file under instance/, mail written to instance/outbox/."""

    SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET)
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'portal.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    COURSES_DIR = os.environ.get("COURSES_DIR", str(BASE_DIR / "courses"))
    SITE_NAME = "RSO Learning Portal"
    # Pages are small, uploads come later with their own limits; this caps every request body.
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 16 * 1024 * 1024))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    # A Redis that does not answer within a second must not hold up a sign-in: the limits then
    # count in each process's memory until it is back.
    RATELIMIT_STORAGE_OPTIONS = (
        {"socket_connect_timeout": 1, "socket_timeout": 1}
        if RATELIMIT_STORAGE_URI.startswith("redis")
        else {}
    )
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = True
    # Behind a reverse proxy, how many hops of X-Forwarded-* to trust (0: none, direct).
    PROXY_FIX_HOPS = int(os.environ.get("PROXY_FIX_HOPS", 0))
    CREATE_DEMO_DATA = True
    SEND_FILE_MAX_AGE_DEFAULT = timedelta(hours=1)
    # Static URLs carry a digest of the file (?v=...); such a URL never changes content, so
    # browsers and proxies keep it a year (app/static_files.py).
    STATIC_FINGERPRINT_MAX_AGE = int(os.environ.get("STATIC_FINGERPRINT_MAX_AGE", 365 * 86400))
    # Compress pages and documents (Brotli, else gzip) unless the reverse proxy does it.
    COMPRESS_RESPONSES = _env_bool("COMPRESS_RESPONSES", True)
    COMPRESS_ALGORITHM = ["br", "gzip"]
    # Files (static, sent as streams) are left alone: the reverse proxy serves them, and
    # compressing a stream here would leave the file to the garbage collector to close.
    COMPRESS_STREAMS = False
    COMPRESS_BR_LEVEL = 4  # Brotli's sweet spot for pages made on the fly
    COMPRESS_LEVEL = 6
    COMPRESS_MIN_SIZE = 500
    # Pages and documents made on the fly. Static files (CSS, JS, SVG) are left to the reverse
    # proxy: they are small, cached for a year, and compressing a file response here would
    # leave its file handle to the garbage collector.
    COMPRESS_MIMETYPES = [
        "text/html",
        "text/plain",
        "text/csv",
        "application/json",
        "application/ld+json",
    ]
    # Logs: "text" for a terminal, "json" (one object a line on stderr) for a log collector.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    # Accounts: "invitation" (default) or "registration" (self-registration approved by the
    # country's focal point; addresses in AUTO_APPROVE_DOMAINS are approved at once).
    ACCOUNT_MODE = os.environ.get("ACCOUNT_MODE", "invitation")
    AUTO_APPROVE_DOMAINS = [
        domain.strip().lower()
        for domain in os.environ.get("AUTO_APPROVE_DOMAINS", "").split(",")
        if domain.strip()
    ]
    REQUIRE_2FA_FOR_STAFF = _env_bool("REQUIRE_2FA_FOR_STAFF", False)
    SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", 30))
    SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", 12))
    REMEMBER_IDLE_DAYS = int(os.environ.get("REMEMBER_IDLE_DAYS", 7))
    REMEMBER_COOKIE_DURATION = timedelta(days=int(os.environ.get("REMEMBER_DAYS", 30)))
    PASSWORD_RESET_MINUTES = int(os.environ.get("PASSWORD_RESET_MINUTES", 60))
    # Failed sign-ins allowed per account (from any address) and per address (for any account).
    LOGIN_LIMIT_PER_ACCOUNT = os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per minute;20 per hour")
    LOGIN_LIMIT_PER_ADDRESS = os.environ.get("LOGIN_LIMIT_PER_ADDRESS", "30 per minute")
    VERIFY_LIMIT_PER_ADDRESS = os.environ.get(
        "VERIFY_LIMIT_PER_ADDRESS", "30 per minute;300 per hour"
    )
    # Certificates: who issues them, and where the public pages and documents live.
    ISSUER_NAME = os.environ.get("ISSUER_NAME", "Bali Process Regional Support Office")
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    # PEM of the Ed25519 key that signs credentials (production); generated under instance/
    # on first use in development. Older public keys stay published for verification.
    CREDENTIAL_SIGNING_KEY = os.environ.get("CREDENTIAL_SIGNING_KEY")
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "file")
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "RSO Learning Portal <no-reply@rso-learning.invalid>"
    )
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "localhost")
    MAIL_PORT = int(os.environ["MAIL_PORT"]) if os.environ.get("MAIL_PORT") else None
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD")
    MAIL_USE_TLS = _env_bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _env_bool("MAIL_USE_SSL", False)


class DevelopmentConfig(Config):
    DEBUG = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = DEVELOPMENT_SECRET
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    RATELIMIT_STORAGE_URI = "memory://"


class ProductionConfig(Config):
    CREATE_DEMO_DATA = False
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "smtp")
    REQUIRE_2FA_FOR_STAFF = _env_bool("REQUIRE_2FA_FOR_STAFF", True)
    SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", True)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
    # One pool per worker process: as many connections as the worker has threads, a couple
    # more for bursts, and a short wait rather than a pile-up when the database is saturated.
    # Servers x workers x (size + overflow) must stay under PostgreSQL's max_connections
    # (or PgBouncer's pool): see docs/deploy.md.
    SQLALCHEMY_ENGINE_OPTIONS = {
        "pool_size": int(os.environ.get("DB_POOL_SIZE", os.environ.get("GUNICORN_THREADS", 1))),
        "max_overflow": int(os.environ.get("DB_MAX_OVERFLOW", 2)),
        "pool_timeout": int(os.environ.get("DB_POOL_TIMEOUT", 10)),
        # Off: testing each connection as it is handed out costs two round trips a request
        # (about 0.3 ms, as much as the page's own queries). When the database restarts, the
        # first request of each worker fails, and the pool then replaces all its connections.
        "pool_pre_ping": _env_bool("DB_POOL_PRE_PING", False),
        "pool_recycle": int(os.environ.get("DB_POOL_RECYCLE", 1800)),
        **(
            {
                "connect_args": {
                    "application_name": os.environ.get("DB_APPLICATION_NAME", "rso-learning"),
                    # Nothing a page asks should take longer than gunicorn lets a request live.
                    "options": "-c statement_timeout="
                    + os.environ.get("DB_STATEMENT_TIMEOUT_MS", "30000"),
                }
            }
            if os.environ.get("DATABASE_URL", "").startswith("postgresql")
            else {}
        ),
    }

    @classmethod
    def validate(cls) -> None:
        """Refuse to start with a missing or development secret, or without a database URL."""
        secret = os.environ.get("SECRET_KEY", "")
        if not secret or secret == DEVELOPMENT_SECRET or len(secret) < 32:
            raise RuntimeError(
                "ProductionConfig needs SECRET_KEY: a random value of at least 32 characters, "
                "not the development secret."
            )
        if not os.environ.get("DATABASE_URL"):
            raise RuntimeError("ProductionConfig needs DATABASE_URL (PostgreSQL).")


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def config_from_environment() -> type[Config]:
    """The config class named by APP_CONFIG (development by default)."""
    name = os.environ.get("APP_CONFIG", "development")
    try:
        return CONFIGS[name]
    except KeyError:
        raise RuntimeError(f"APP_CONFIG must be one of {sorted(CONFIGS)}, not {name!r}") from None
