"""Alembic environment: runs inside the Flask app, against its engine and model metadata."""

import logging
from logging.config import fileConfig

from alembic import context
from flask import current_app

import app.models  # noqa: F401  (registers every table on the metadata)
from app.models.base import UTCDateTime

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db


def render_item(type_, obj, autogen_context):
    """Render our own column types as an import from app.models.base."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        autogen_context.imports.add("from app.models.base import UTCDateTime")
        return "UTCDateTime()"
    return False


def process_revision_directives(context, revision, directives):
    # An autogenerate that finds nothing writes no empty revision file.
    if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
        directives[:] = []
        logger.info("No changes in schema detected.")


def configure_args(**kwargs):
    args = dict(current_app.extensions["migrate"].configure_args)
    args.setdefault("process_revision_directives", process_revision_directives)
    return {
        "target_metadata": target_db.metadata,
        "compare_type": True,
        "render_item": render_item,
        **args,
        **kwargs,
    }


def run_migrations_offline():
    url = target_db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, literal_binds=True, **configure_args())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = target_db.engine
    with engine.connect() as connection:
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        context.configure(
            connection=connection,
            **configure_args(render_as_batch=engine.dialect.name == "sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
