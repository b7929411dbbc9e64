"""Flask commands: `flask courses check|import|export` and `flask demo`."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.authoring.importer import export_course, import_course_folder
from app.authoring.parse import check_path, find_course_folders
from app.extensions import db
from app.models import Role, User
from app.services.passwords import hash_password

courses_cli = AppGroup("courses", help="Check, import and export course folders.")


def _default_path() -> Path:
    return Path(current_app.config["COURSES_DIR"])


@courses_cli.command("check")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def check_command(path: Path | None) -> None:
    """Report every problem in PATH (a course folder or a folder of courses) as file:line."""
    path = path or _default_path()
    courses, problems = check_path(path)
    for problem in problems:
        click.echo(str(problem))
    if problems:
        click.echo(f"{len(problems)} problem(s) found.", err=True)
        sys.exit(1)
    click.echo(f"{len(courses)} course(s) checked, no problems.")


@courses_cli.command("import")
@click.argument("path", required=False, type=click.Path(path_type=Path))
def import_command(path: Path | None) -> None:
    """Import PATH: each changed course becomes a new version; broken ones change nothing."""
    path = path or _default_path()
    folders, problems = find_course_folders(path)
    for problem in problems:
        click.echo(str(problem))
    rejected = bool(problems)
    for folder in folders:
        try:
            outcome = import_course_folder(db.session, folder)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        for problem in outcome.problems:
            click.echo(str(problem))
        click.echo(outcome.describe())
        rejected = rejected or outcome.status == "rejected"
    if rejected:
        sys.exit(1)


@courses_cli.command("export")
@click.argument("slug")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--overwrite", is_flag=True, help="Replace DIRECTORY/SLUG if it already exists.")
def export_command(slug: str, directory: Path, overwrite: bool) -> None:
    """Write the published version of SLUG to DIRECTORY/SLUG, exactly as it was imported."""
    try:
        target = export_course(db.session, slug, directory, overwrite=overwrite)
    except LookupError:
        raise click.ClickException(f"no published course {slug!r}") from None
    except FileExistsError as error:
        raise click.ClickException(f"{error}; pass --overwrite to replace it") from None
    click.echo(f"exported {slug} to {target}")


@click.command("demo")
def demo_command() -> None:
    """Create the demo accounts once (development only) and print their logins."""
    if not current_app.config.get("CREATE_DEMO_DATA"):
        raise click.ClickException("demo data is switched off in this configuration")
    logins = Path(current_app.instance_path) / "demo-logins.txt"
    email = "admin@demo.rso-learning.test"
    if db.session.scalar(select(User).where(User.email == email)) is None:
        password = secrets.token_urlsafe(12)
        db.session.add(
            User(
                email=email,
                display_name="Demo Administrator",
                role=Role.ADMIN.value,
                password_hash=hash_password(password),
            )
        )
        db.session.commit()
        logins.parent.mkdir(parents=True, exist_ok=True)
        logins.write_text(f"admin  {email}  {password}\n", encoding="utf-8")
        logins.chmod(0o600)
    if logins.exists():
        click.echo("Demo logins (development only):")
        click.echo(logins.read_text(encoding="utf-8").rstrip())
    else:
        click.echo(f"The demo admin {email} exists; its password file {logins} is gone.")


def register(app: Flask) -> None:
    app.cli.add_command(courses_cli)
    app.cli.add_command(demo_command)
