"""The production configuration refuses to start unsafely."""

from __future__ import annotations

import pytest

from app import create_app
from config import DEVELOPMENT_SECRET, ProductionConfig, config_from_environment


@pytest.mark.parametrize(
    ("secret", "database"),
    [
        (None, "postgresql+psycopg://db/portal"),
        (DEVELOPMENT_SECRET, "postgresql+psycopg://db/portal"),
        ("short", "postgresql+psycopg://db/portal"),
        ("x" * 40, None),
    ],
)
def test_production_refuses_to_start_without_a_real_secret_and_database(
    monkeypatch, secret, database
):
    for name, value in (("SECRET_KEY", secret), ("DATABASE_URL", database)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises(RuntimeError):
        create_app(ProductionConfig)


def test_production_starts_with_a_secret_and_a_database(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1/unused")
    ProductionConfig.validate()


def test_an_unknown_config_name_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("APP_CONFIG", "staging")
    with pytest.raises(RuntimeError, match="APP_CONFIG must be one of"):
        config_from_environment()
