"""Reading a CSV of staff to invite into a preview: every row, and why a row is refused.

Pure parsing and validation: no database and no Flask. The caller supplies what the database
knows (course slugs, emails that already have an account or a pending invitation) and writes
nothing until the person confirms the preview.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from email_validator import EmailNotValidError, validate_email

# A national staff list is a few hundred people; these limits leave room and keep a single
# request, and the preview page that lists every row, small.
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 2000
# Invitation.display_name is String(120).
MAX_NAME_LENGTH = 120

REQUIRED_COLUMNS = ("email", "name")
OPTIONAL_COLUMNS = ("courses", "due_date")
KNOWN_COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# Comma is the default; semicolon is what spreadsheets write in locales that use a decimal
# comma; tab is what people get when they paste from a spreadsheet into a text editor.
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "a comma", ";": "a semicolon", "\t": "a tab"}
FORMULA_PREFIXES = ("=", "+", "-", "@")
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# Course slugs are lowercase letters, digits and hyphens, so neither separator is ambiguous;
# ';' is the documented one, ',' is accepted because people type it.
COURSE_SEPARATOR = re.compile(r"[;,]")

SAVE_AS_UTF8 = (
    "Save it as 'CSV UTF-8' and upload it again "
    "(in Excel: File > Save As > 'CSV UTF-8 (Comma delimited) (*.csv)')."
)


@dataclass
class InvitationRow:
    """One person from the file, normalised, with every reason the row is refused."""

    line: int
    email: str
    name: str
    course_slugs: list[str] = field(default_factory=list)
    due_on: date | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class InvitationPreview:
    """What the upload page shows before anything is written."""

    rows: list[InvitationRow]
    refusal: str | None = None

    @property
    def valid_rows(self) -> list[InvitationRow]:
        return [row for row in self.rows if row.ok]

    @property
    def refused_rows(self) -> list[InvitationRow]:
        return [row for row in self.rows if not row.ok]


def decode_csv(data: bytes) -> tuple[str | None, str | None]:
    """(text, None) for UTF-8 (with or without BOM) or UTF-16 with a BOM; (None, refusal) else."""
    if data.startswith(b"PK\x03\x04"):
        return None, f"This is a spreadsheet workbook (.xlsx), not a CSV file. {SAVE_AS_UTF8}"
    try:
        if data.startswith(codecs.BOM_UTF8):
            text = data[len(codecs.BOM_UTF8) :].decode("utf-8")
        elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")  # reads the BOM for the byte order and drops it
        else:
            text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"The file is not in UTF-8, so names in it could be garbled. {SAVE_AS_UTF8}"
    if "\x00" in text:
        # UTF-16 without a BOM, UTF-32, or not a text file at all.
        return None, f"The file is not a UTF-8 text file. {SAVE_AS_UTF8}"
    return text, None


def parse_invitation_csv(
    data: bytes, *, known_courses: set[str], unavailable_emails: set[str], today: date
) -> InvitationPreview:
    """Read an uploaded CSV of people to invite into a preview; never raises on bad input."""
    if len(data) > MAX_BYTES:
        return _refuse(
            f"The file is {len(data) / (1024 * 1024):.1f} MB; the limit is "
            f"{MAX_BYTES // (1024 * 1024)} MB. Split it into smaller files."
        )
    text, refusal = decode_csv(data)
    if refusal is not None or text is None:
        return _refuse(refusal or "The file could not be read.")
    if not text.strip():
        return _refuse("The file is empty.")

    delimiter = _detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    unavailable = {email.strip().lower() for email in unavailable_emails}
    header: list[str] | None = None
    rows: list[InvitationRow] = []
    first_line_of: dict[str, int] = {}
    line = 1
    try:
        for cells in reader:
            # A record starts on the line after the previous one ended; a quoted cell may hold
            # line breaks, so the reader's count is the only reliable one.
            start, line = line, reader.line_num + 1
            if _is_blank(cells):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                refusal = _check_header(header)
                if refusal is not None:
                    return _refuse(refusal)
                continue
            if len(rows) == MAX_ROWS:
                return _refuse(
                    f"The file has more than {MAX_ROWS:,} people; the limit is {MAX_ROWS:,} "
                    "per file. Split it into smaller files."
                )
            rows.append(
                _read_row(
                    start,
                    line - 1,
                    header,
                    cells,
                    delimiter=delimiter,
                    known_courses=known_courses,
                    unavailable=unavailable,
                    first_line_of=first_line_of,
                    today=today,
                )
            )
    except csv.Error as exc:
        return _refuse(
            f"The file could not be read as CSV near line {reader.line_num}: {exc}. "
            "Check for a quotation mark that is opened and never closed."
        )
    if header is None:
        return _refuse("The file is empty.")
    if not rows:
        return _refuse(
            "The file has a header row but nobody to invite: add one row per person below it."
        )
    return InvitationPreview(rows=rows)


def _refuse(message: str) -> InvitationPreview:
    return InvitationPreview(rows=[], refusal=message)


def _is_blank(cells: list[str]) -> bool:
    return all(not cell.strip() for cell in cells)


def _detect_delimiter(text: str) -> str:
    """The delimiter the header row uses most; a comma when it uses none (a one-column file)."""
    header = next((line for line in io.StringIO(text, newline="") if line.strip(" \t\r\n,;")), "")
    # Headings are plain words, so counting them in one line is enough, and unlike csv.Sniffer
    # it cannot fail to decide.
    return max(DELIMITERS, key=header.count)


def _check_header(header: list[str]) -> str | None:
    named = [name for name in header if name]
    missing = [name for name in REQUIRED_COLUMNS if name not in named]
    unknown = [name for name in named if name not in KNOWN_COLUMNS]
    repeated = sorted({name for name in named if named.count(name) > 1})
    if not (missing or unknown or repeated):
        return None
    problems = []
    if missing:
        problems.append(f"missing: {', '.join(missing)}")
    if unknown:
        problems.append(f"not recognised: {', '.join(unknown)}")
    if repeated:
        problems.append(f"more than once: {', '.join(repeated)}")
    return (
        "The first row must name the columns email and name, and may add courses and due_date "
        f"({'; '.join(problems)}). Columns found: {', '.join(named) or 'none'}."
    )


def _read_row(
    line: int,
    end: int,
    header: list[str],
    cells: list[str],
    *,
    delimiter: str,
    known_courses: set[str],
    unavailable: set[str],
    first_line_of: dict[str, int],
    today: date,
) -> InvitationRow:
    values = [cell.strip() for cell in cells]
    if end > line:
        # Either a quoted cell holds a line break, or a quotation mark was never closed and the
        # csv module, without complaint, read the rest of the file into this row.
        error = (
            f"runs on from line {line} to line {end}: a cell holds a line break, "
            "or a quotation mark is never closed"
        )
    elif len(values) != len(header):
        error = (
            f"has {len(values)} cells but the first row has {len(header)} columns; "
            f"a cell that contains {DELIMITER_NAMES[delimiter]} must be in double quotes"
        )
    else:
        error = ""
    if error:
        # The cells cannot be trusted to match the columns: show what we can, refuse the row.
        by_position = dict(zip(header, values, strict=False))
        return InvitationRow(
            line=line,
            email=_shortened(by_position.get("email", "").lower()),
            name=_shortened(unicodedata.normalize("NFC", by_position.get("name", ""))),
            errors=[error],
        )
    errors: list[str] = []
    by_name: dict[str, str] = {}
    for name, value in zip(header, values, strict=True):
        if name:
            by_name[name] = value
        elif value:
            errors.append(f"has {_shortened(value)!r} in a column with no heading")

    email = _check_email(by_name["email"], line, unavailable, first_line_of, errors)
    name = _check_name(by_name["name"], errors)
    course_slugs = _check_courses(by_name.get("courses", ""), known_courses, errors)
    due_on = _check_due_date(by_name.get("due_date", ""), today, errors)
    if due_on is not None and not course_slugs:
        errors.append("a due date needs at least one course")
    return InvitationRow(
        line=line, email=email, name=name, course_slugs=course_slugs, due_on=due_on, errors=errors
    )


def _shortened(value: str) -> str:
    """A cell as shown back to the person, cut short: a runaway cell can be the whole file."""
    return value if len(value) <= MAX_NAME_LENGTH else value[: MAX_NAME_LENGTH - 1] + "…"


def _check_email(
    raw: str, line: int, unavailable: set[str], first_line_of: dict[str, int], errors: list[str]
) -> str:
    if not raw:
        errors.append("email is missing")
        return ""
    try:
        # No DNS: a preview of 2,000 rows must not wait on 2,000 lookups.
        email = validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        errors.append(f"email {_shortened(raw)!r} is not valid: {exc}")
        return _shortened(raw.lower())
    first = first_line_of.setdefault(email, line)
    if first != line:
        errors.append(f"{email} is already on line {first} of this file")
    if email in unavailable:
        errors.append(f"{email} already has an account or a pending invitation")
    return email


def _check_name(raw: str, errors: list[str]) -> str:
    name = unicodedata.normalize("NFC", raw)
    if not name:
        errors.append("name is missing")
    elif len(name) > MAX_NAME_LENGTH:
        errors.append(f"name is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}")
    if name.startswith(FORMULA_PREFIXES):
        # A cell starting like this runs as a formula when someone opens an export in Excel.
        errors.append(f"name looks like a spreadsheet formula (it starts with {name[0]!r})")
    if any(unicodedata.category(char) == "Cc" for char in name):
        errors.append("name contains a control character, such as a tab")
    return name


def _check_courses(raw: str, known_courses: set[str], errors: list[str]) -> list[str]:
    slugs = list(dict.fromkeys(s.strip().lower() for s in COURSE_SEPARATOR.split(raw)))
    slugs = [slug for slug in slugs if slug]
    unknown = [slug for slug in slugs if slug not in known_courses]
    if unknown:
        errors.append(f"unknown course{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}")
    return slugs


def _check_due_date(raw: str, today: date, errors: list[str]) -> date | None:
    if not raw:
        return None
    try:
        if not ISO_DATE.fullmatch(raw):
            raise ValueError(raw)
        due_on = date.fromisoformat(raw)
    except ValueError:
        errors.append(
            f"due date {_shortened(raw)!r} is not a date written YYYY-MM-DD, e.g. 2026-03-31"
        )
        return None
    if due_on < today:
        errors.append(f"due date {raw} is in the past")
    return due_on
