"""Flask commands: courses, countries, mail, certificates verify, demo."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.authoring.gift import gift_to_markdown, read_gift_bytes
from app.authoring.importer import export_course, import_course_folder
from app.authoring.parse import check_path, find_course_folders
from app.extensions import certificate_authority, db
from app.models import Country, Role, User
from app.services import countries, mail
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


countries_cli = AppGroup("countries", help="Countries of the Bali Process.")


@countries_cli.command("seed")
def seed_countries_command() -> None:
    """Add the Bali Process members that are missing; never renames or removes."""
    added = countries.seed_countries(db.session)
    db.session.commit()
    click.echo(f"{added} country(ies) added.")


mail_cli = AppGroup("mail", help="Outgoing mail.")


@mail_cli.command("retry")
def retry_mail_command() -> None:
    """Send again every stored message that has not gone out yet."""
    settings = mail.MailSettings.from_config(current_app.config, current_app.instance_path)
    sent, failed = mail.retry_unsent(db.session, settings)
    db.session.commit()
    click.echo(f"{sent} sent, {failed} still failing.")


DEMO_PEOPLE = [
    ("admin", "admin@demo.rso-learning.test", "Demo Administrator", Role.ADMIN, None),
    ("focal point", "focal.id@demo.rso-learning.test", "Dewi Lestari", Role.FOCAL_POINT, "ID"),
    ("learner", "learner1.id@demo.rso-learning.test", "Budi Santoso", Role.LEARNER, "ID"),
    ("learner", "learner2.id@demo.rso-learning.test", "Siti Rahmawati", Role.LEARNER, "ID"),
]


@click.command("demo")
def demo_command() -> None:
    """Create the demo accounts once (development only) and print their logins."""
    if not current_app.config.get("CREATE_DEMO_DATA"):
        raise click.ClickException("demo data is switched off in this configuration")
    countries.seed_countries(db.session)
    logins = Path(current_app.instance_path) / "demo-logins.txt"
    created_lines = []
    for label, email, name, role, country_code in DEMO_PEOPLE:
        if db.session.scalar(select(User).where(User.email == email)) is not None:
            continue
        password = "-".join(secrets.token_hex(3) for _ in range(3))
        country = (
            db.session.scalar(select(Country).where(Country.code == country_code))
            if country_code
            else None
        )
        db.session.add(
            User(
                email=email,
                display_name=name,
                role=role.value,
                country=country,
                password_hash=hash_password(password),
            )
        )
        created_lines.append(f"{label:<12} {email:<40} {password}")
    db.session.commit()
    if created_lines:
        logins.parent.mkdir(parents=True, exist_ok=True)
        with logins.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(created_lines) + "\n")
        logins.chmod(0o600)
    if logins.exists():
        click.echo("Demo logins (development only; sign in at http://127.0.0.1:5000/auth/login):")
        click.echo(logins.read_text(encoding="utf-8").rstrip())
    else:
        click.echo(f"The demo accounts exist; their password file {logins} is gone.")


def register(app: Flask) -> None:
    app.cli.add_command(courses_cli)
    app.cli.add_command(countries_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(demo_command)
    app.cli.add_command(certificates_cli)


certificates_cli = AppGroup("certificates", help="Completion certificates.")


@certificates_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_certificate_command(file: Path) -> None:
    """Check a credential file offline: signature, issuer key, dates and revocation status."""
    verdict = certificate_authority.verify(db.session, file.read_bytes())
    db.session.rollback()
    click.echo(f"{file}: {verdict.status}")
    for reason in verdict.reasons:
        click.echo(f"  - {reason}")
    if verdict.status != "valid":
        sys.exit(1)


@courses_cli.command("gift")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def gift_command(file: Path) -> None:
    """Turn a Moodle GIFT question bank into quiz Markdown (stdout); problems by line (stderr)."""
    text, refusal = read_gift_bytes(file.read_bytes())
    if text is None:
        raise click.ClickException(refusal or "the file could not be read")
    report = gift_to_markdown(text)
    click.echo(report.markdown, nl=False)
    for line, message in report.problems:
        click.echo(f"{file}:{line}: {message}", err=True)
    click.echo(f"{report.imported} question(s) converted.", err=True)
