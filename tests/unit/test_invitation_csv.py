"""Reading a CSV of staff to invite: what is accepted, what is refused, and why."""

from __future__ import annotations

import codecs
import unicodedata
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.services.invitation_csv import (
    MAX_BYTES,
    MAX_NAME_LENGTH,
    MAX_ROWS,
    InvitationPreview,
    decode_csv,
    parse_invitation_csv,
)

TODAY = date(2026, 3, 2)
COURSES = {
    "untoc-essentials",
    "criminalizing-migrant-smuggling",
    "criminalizing-trafficking-in-persons",
    "protecting-victims-of-trafficking",
}
HEADER = "email,name,courses,due_date"


def parse(
    data: bytes | str, *, unavailable: set[str] | None = None, today: date = TODAY
) -> InvitationPreview:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return parse_invitation_csv(
        raw, known_courses=COURSES, unavailable_emails=unavailable or set(), today=today
    )


def only_row_errors(preview: InvitationPreview) -> dict[int, list[str]]:
    assert preview.refusal is None
    return {row.line: row.errors for row in preview.rows}


def staff_file(count: int, *, with_courses: bool = True) -> str:
    lines = [HEADER if with_courses else "email,name"]
    for number in range(count):
        person = f"officer.{number:05d}@immigration.go.th,Officer {number:05d}"
        if with_courses:
            person += ",untoc-essentials;protecting-victims-of-trafficking,2026-06-30"
        lines.append(person)
    return "\r\n".join(lines) + "\r\n"


# What a focal point in Bangkok exports from Excel as "CSV UTF-8": BOM, CRLF, mixed case.
THAI_TEAM = (
    "Email,Name,Courses,Due_Date\r\n"
    "Somchai.K@Immigration.go.th,สมชาย ใจดี,untoc-essentials,2026-04-30\r\n"
    "  nok.p@immigration.go.th ,นกน้อย พรหมมา,"
    "untoc-essentials ; criminalizing-migrant-smuggling,\r\n"
    "anan.s@dsi.go.th,Anan Srisuk,,\r\n"
)


def test_a_well_formed_file_gives_one_valid_row_per_person():
    preview = parse(codecs.BOM_UTF8 + THAI_TEAM.encode("utf-8"))

    assert preview.refusal is None
    assert [row.line for row in preview.valid_rows] == [2, 3, 4]
    assert preview.refused_rows == []
    first, second, third = preview.rows
    assert (first.email, first.name) == ("somchai.k@immigration.go.th", "สมชาย ใจดี")
    assert (first.course_slugs, first.due_on) == (["untoc-essentials"], date(2026, 4, 30))
    assert second.email == "nok.p@immigration.go.th"
    assert second.course_slugs == ["untoc-essentials", "criminalizing-migrant-smuggling"]
    assert second.due_on is None
    assert (third.course_slugs, third.due_on, third.ok) == ([], None, True)


def test_utf8_without_a_bom_is_accepted():
    preview = parse(THAI_TEAM.encode("utf-8"))

    assert preview.refusal is None
    assert len(preview.valid_rows) == 3


@pytest.mark.parametrize(
    "encoded",
    [
        THAI_TEAM.encode("utf-16"),
        codecs.BOM_UTF16_LE + THAI_TEAM.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + THAI_TEAM.encode("utf-16-be"),
    ],
    ids=["utf-16", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_utf16_with_a_bom_is_accepted(encoded):
    preview = parse(encoded)

    assert preview.refusal is None
    assert [row.name for row in preview.valid_rows] == [
        "สมชาย ใจดี",
        "นกน้อย พรหมมา",
        "Anan Srisuk",
    ]


def test_windows_1252_bytes_are_refused_with_advice_to_save_as_csv_utf8():
    data = "email,name\r\njose.garcia@migracion.gob.es,José García Müller\r\n".encode("cp1252")

    preview = parse(data)

    assert preview.rows == []
    assert preview.refusal is not None
    assert "CSV UTF-8" in preview.refusal


def test_latin1_bytes_are_refused_by_decode_csv():
    text, refusal = decode_csv("email,name\nrené@douane.fr,René Lefèvre\n".encode("latin-1"))

    assert text is None
    assert refusal is not None and "CSV UTF-8" in refusal


@pytest.mark.parametrize(
    "data",
    [
        "email,name\nanan.s@dsi.go.th,Anan\n".encode("utf-16-le"),  # no BOM
        "email,name\nanan.s@dsi.go.th,Anan\n".encode("utf-32"),
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00[Content_Types].xml",
        codecs.BOM_UTF16_LE + b"e\x00m\x00\x00\xd8",  # a lone surrogate
    ],
    ids=["utf-16-without-bom", "utf-32", "xlsx-workbook", "broken-utf-16"],
)
def test_files_that_are_not_utf8_or_utf16_text_are_refused(data):
    text, refusal = decode_csv(data)

    assert text is None
    assert refusal is not None and "CSV UTF-8" in refusal
    assert parse(data).refusal == refusal


def test_decode_csv_drops_the_byte_order_mark():
    assert decode_csv(codecs.BOM_UTF8 + b"email,name\n") == ("email,name\n", None)
    assert decode_csv("email,name\n".encode("utf-16")) == ("email,name\n", None)


def test_a_missing_required_column_refuses_the_file_naming_expected_and_found_columns():
    preview = parse("email,courses\r\nanan.s@dsi.go.th,untoc-essentials\r\n")

    assert preview.rows == []
    assert preview.refusal is not None
    assert "missing: name" in preview.refusal
    assert "email and name" in preview.refusal
    assert "courses and due_date" in preview.refusal
    assert "Columns found: email, courses" in preview.refusal


def test_an_unknown_column_refuses_the_file_and_names_it():
    preview = parse(
        "email,name,department,courses\r\nanan.s@dsi.go.th,Anan,Investigations,untoc-essentials\r\n"
    )

    assert preview.rows == []
    assert preview.refusal is not None
    assert "not recognised: department" in preview.refusal
    assert "Columns found: email, name, department, courses" in preview.refusal


def test_a_column_named_twice_refuses_the_file():
    preview = parse("email,name,email\r\nanan.s@dsi.go.th,Anan,anan@gmail.com\r\n")

    assert preview.refusal is not None
    assert "more than once: email" in preview.refusal


def test_headings_are_matched_ignoring_case_and_surrounding_spaces():
    preview = parse(
        " EMAIL , Name ,Courses, due_DATE \nanan.s@dsi.go.th,Anan,untoc-essentials,2026-05-01\n"
    )

    assert preview.refusal is None
    assert preview.rows[0].due_on == date(2026, 5, 1)


def test_empty_trailing_columns_left_by_a_spreadsheet_are_ignored_unless_filled():
    preview = parse(
        "email,name,,\r\nanan.s@dsi.go.th,Anan,,\r\nnok.p@immigration.go.th,Nok,,see HR\r\n"
    )

    assert only_row_errors(preview) == {
        2: [],
        3: ["has 'see HR' in a column with no heading"],
    }


def test_the_second_and_later_occurrences_of_an_email_are_refused_naming_the_first_line():
    preview = parse(
        "email,name\r\n"
        "rahim.uddin@dis.gov.bd,Rahim Uddin\r\n"
        "farzana.akter@dis.gov.bd,Farzana Akter\r\n"
        "Rahim.Uddin@DIS.gov.bd,Rahim Uddin\r\n"
        " rahim.uddin@dis.gov.bd ,M. Rahim Uddin\r\n"
    )

    assert only_row_errors(preview) == {
        2: [],
        3: [],
        4: ["rahim.uddin@dis.gov.bd is already on line 2 of this file"],
        5: ["rahim.uddin@dis.gov.bd is already on line 2 of this file"],
    }


def test_emails_that_already_have_an_account_or_invitation_are_refused():
    preview = parse(
        "email,name\r\nnguyen.van.an@bocongan.gov.vn,Nguyễn Văn An\r\n"
        "tran.thi.binh@bocongan.gov.vn,Trần Thị Bình\r\n",
        unavailable={"Nguyen.Van.An@bocongan.gov.vn"},
    )

    assert only_row_errors(preview) == {
        2: ["nguyen.van.an@bocongan.gov.vn already has an account or a pending invitation"],
        3: [],
    }


def test_invalid_or_missing_emails_are_refused_and_the_rest_of_the_file_is_kept():
    preview = parse(
        "email,name\r\n"
        "siti.rahma@imigrasi.go.id,Siti Rahma\r\n"
        "budi.santoso@imigrasi,Budi Santoso\r\n"
        "dewi lestari@imigrasi.go.id,Dewi Lestari\r\n"
        "agus@@imigrasi.go.id,Agus\r\n"
        "Rina Wati <rina.wati@imigrasi.go.id>,Rina Wati\r\n"
        ",Nobody\r\n"
        "eko@imigrasi.local,Eko Prasetyo\r\n"
    )

    errors = only_row_errors(preview)
    assert errors[2] == []
    assert errors[7] == ["email is missing"]
    for line in (3, 4, 5, 6, 8):
        assert len(errors[line]) == 1
        assert errors[line][0].startswith("email '") and " is not valid: " in errors[line][0]
    assert preview.rows[1].email == "budi.santoso@imigrasi"
    assert [row.line for row in preview.valid_rows] == [2]


def test_an_invalid_email_is_quoted_back_with_the_reason():
    preview = parse("email,name\r\nbudi.santoso@imigrasi,Budi Santoso\r\n")

    assert preview.rows[0].errors == [
        "email 'budi.santoso@imigrasi' is not valid: "
        "The part after the @-sign is not valid. It should have a period."
    ]


def test_a_huge_invalid_cell_is_quoted_back_cut_short():
    preview = parse("email,name\r\n" + "x" * 50_000 + ",Budi Santoso\r\n")

    row = preview.rows[0]
    assert len(row.email) == MAX_NAME_LENGTH
    assert len(row.errors) == 1 and len(row.errors[0]) < 400


def test_unknown_course_slugs_are_named_and_known_ones_kept():
    preview = parse(
        f"{HEADER}\r\n"
        "siti.rahma@imigrasi.go.id,Siti Rahma,untoc-essentials;Smuggling-101,2026-04-01\r\n"
        "budi.santoso@imigrasi.go.id,Budi Santoso,UNTOC-Essentials; untoc-essentials ;,\r\n"
        "dewi.lestari@imigrasi.go.id,Dewi Lestari,untoc;trafficking,\r\n"
    )

    assert only_row_errors(preview) == {
        2: ["unknown course: smuggling-101"],
        3: [],
        4: ["unknown courses: untoc, trafficking"],
    }
    assert preview.rows[0].course_slugs == ["untoc-essentials", "smuggling-101"]
    assert preview.rows[1].course_slugs == ["untoc-essentials"]


def test_due_dates_before_today_are_refused_and_today_is_accepted():
    preview = parse(
        f"{HEADER}\r\n"
        f"a.perera@immigration.gov.lk,Anura Perera,untoc-essentials,{TODAY - timedelta(days=1)}\r\n"
        f"k.silva@immigration.gov.lk,Kamala Silva,untoc-essentials,{TODAY}\r\n"
        "n.fernando@immigration.gov.lk,Nimal Fernando,untoc-essentials,2025-12-31\r\n"
    )

    assert only_row_errors(preview) == {
        2: ["due date 2026-03-01 is in the past"],
        3: [],
        4: ["due date 2025-12-31 is in the past"],
    }
    assert preview.rows[1].due_on == TODAY


@pytest.mark.parametrize(
    "written", ["31/12/2026", "12/31/2026", "2026-02-30", "20261231", "๒๐๒๖-๐๔-๓๐", "soon"]
)
def test_a_due_date_not_written_yyyy_mm_dd_is_refused(written):
    preview = parse(
        f"{HEADER}\r\nk.silva@immigration.gov.lk,Kamala Silva,untoc-essentials,{written}"
    )

    row = preview.rows[0]
    assert row.errors == [f"due date {written!r} is not a date written YYYY-MM-DD, e.g. 2026-03-31"]
    assert row.due_on is None


def test_a_due_date_without_a_course_is_refused():
    preview = parse(f"{HEADER}\r\nk.silva@immigration.gov.lk,Kamala Silva,,2026-09-30\r\n")

    assert only_row_errors(preview) == {2: ["a due date needs at least one course"]}


def test_a_due_date_with_only_unknown_courses_is_refused_for_the_courses_only():
    preview = parse(f"{HEADER}\r\nk.silva@immigration.gov.lk,Kamala Silva,untoc,2026-09-30\r\n")

    assert only_row_errors(preview) == {2: ["unknown course: untoc"]}


def test_a_missing_or_too_long_name_is_refused():
    longest = "ก" * MAX_NAME_LENGTH
    preview = parse(
        "email,name\r\n"
        "a.perera@immigration.gov.lk,   \r\n"
        f"k.silva@immigration.gov.lk,{longest}\r\n"
        f"n.fernando@immigration.gov.lk,{longest}x\r\n"
    )

    assert only_row_errors(preview) == {
        2: ["name is missing"],
        3: [],
        4: [f"name is {MAX_NAME_LENGTH + 1} characters long; the limit is {MAX_NAME_LENGTH}"],
    }


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://x.test","Anan")', "+66 2 141 9889", "-Anan", "@SUM(A1)"]
)
def test_a_name_that_looks_like_a_spreadsheet_formula_is_refused_and_kept_as_given(name):
    quoted = '"' + name.replace('"', '""') + '"'
    preview = parse(f"email,name\r\nanan.s@dsi.go.th,{quoted}\r\n")

    row = preview.rows[0]
    assert row.errors == [f"name looks like a spreadsheet formula (it starts with {name[0]!r})"]
    assert row.name == name


def test_a_name_with_a_formula_character_inside_is_accepted():
    preview = parse("email,name\r\nanan.s@dsi.go.th,Anan Srisuk-Wong @ DSI\r\n")

    assert preview.rows[0].ok


def test_a_name_with_a_line_break_is_refused():
    preview = parse('email,name\r\nanan.s@dsi.go.th,"Anan\r\nSrisuk"\r\nnok.p@dsi.go.th,Nok\r\n')

    assert only_row_errors(preview) == {
        2: [
            "runs on from line 2 to line 3: a cell holds a line break, "
            "or a quotation mark is never closed"
        ],
        4: [],
    }


def test_a_name_with_a_tab_or_another_control_character_is_refused():
    preview = parse("email,name\r\nanan.s@dsi.go.th,Anan\tSrisuk\r\nnok.p@dsi.go.th,Nok\x07\r\n")

    assert only_row_errors(preview) == {
        2: ["name contains a control character, such as a tab"],
        3: ["name contains a control character, such as a tab"],
    }


def test_every_problem_in_a_row_is_reported_together():
    preview = parse(
        f"{HEADER}\r\n"
        "anan.s@dsi.go.th,Anan,untoc-essentials,\r\n"
        "ANAN.S@dsi.go.th,=Anan,smuggling-101,2020-01-01\r\n",
        unavailable={"anan.s@dsi.go.th"},
    )

    assert only_row_errors(preview)[3] == [
        "anan.s@dsi.go.th is already on line 2 of this file",
        "anan.s@dsi.go.th already has an account or a pending invitation",
        "name looks like a spreadsheet formula (it starts with '=')",
        "unknown course: smuggling-101",
        "due date 2020-01-01 is in the past",
    ]


def test_a_row_with_the_wrong_number_of_cells_is_refused_and_the_others_are_read():
    preview = parse(
        f"{HEADER}\r\n"
        "anan.s@dsi.go.th,Anan,untoc-essentials,criminalizing-migrant-smuggling,2026-05-01\r\n"
        "nok.p@dsi.go.th,Nok\r\n"
        "somchai.k@dsi.go.th,Somchai,untoc-essentials,2026-05-01\r\n"
    )

    assert only_row_errors(preview) == {
        2: [
            "has 5 cells but the first row has 4 columns; "
            "a cell that contains a comma must be in double quotes"
        ],
        3: [
            "has 2 cells but the first row has 4 columns; "
            "a cell that contains a comma must be in double quotes"
        ],
        4: [],
    }
    assert (preview.rows[0].email, preview.rows[0].name) == ("anan.s@dsi.go.th", "Anan")


def test_an_unclosed_quotation_mark_is_refused_on_its_line_not_read_silently():
    preview = parse(
        'email,name\r\nanan.s@dsi.go.th,"Anan\r\nnok.p@dsi.go.th,Nok\r\nsomchai.k@dsi.go.th,S\r\n'
    )

    assert only_row_errors(preview) == {
        2: [
            "runs on from line 2 to line 4: a cell holds a line break, "
            "or a quotation mark is never closed"
        ]
    }
    assert preview.rows[0].email == "anan.s@dsi.go.th"


def test_a_row_swallowing_the_rest_of_a_large_file_is_shown_cut_short():
    data = 'email,name\r\nanan.s@dsi.go.th,"Anan\r\n' + staff_file(500).split("\r\n", 1)[1]

    preview = parse(data)

    assert [row.line for row in preview.rows] == [2]
    assert preview.rows[0].errors[0].startswith("runs on from line 2 to line 502: ")
    assert len(preview.rows[0].name) == MAX_NAME_LENGTH
    assert preview.rows[0].name.startswith("Anan\r\nofficer.00000@immigration.go.th,")


def test_blank_lines_are_skipped_and_line_numbers_match_the_file():
    preview = parse(
        "\r\n"
        "email,name,courses,due_date\r\n"
        "\r\n"
        "anan.s@dsi.go.th,Anan,,\r\n"
        ",,,\r\n"
        "   \r\n"
        'nok.p@dsi.go.th,"Nok\nPhrommma",,\r\n'
        "somchai.k@dsi.go.th,Somchai,,\r\n"
    )

    assert [row.line for row in preview.rows] == [4, 7, 9]


def test_semicolon_delimited_files_from_spreadsheets_are_accepted():
    data = (
        "email;name;courses;due_date\r\n"
        "jean.dupont@interieur.gouv.fr;Dupont, Jean;untoc-essentials, "
        "protecting-victims-of-trafficking;2026-06-30\r\n"
        'marie.curie@interieur.gouv.fr;Marie Curie;"untoc-essentials;'
        'criminalizing-migrant-smuggling";\r\n'
    )

    preview = parse(codecs.BOM_UTF8 + data.encode("utf-8"))

    assert preview.refusal is None
    assert preview.refused_rows == []
    assert preview.rows[0].name == "Dupont, Jean"
    assert preview.rows[0].course_slugs == [
        "untoc-essentials",
        "protecting-victims-of-trafficking",
    ]
    assert preview.rows[1].course_slugs == [
        "untoc-essentials",
        "criminalizing-migrant-smuggling",
    ]


def test_tab_delimited_text_pasted_from_a_spreadsheet_is_accepted():
    preview = parse("email\tname\r\nanan.s@dsi.go.th\tAnan, Srisuk\r\n")

    assert preview.refusal is None
    assert preview.rows[0].name == "Anan, Srisuk"
    assert preview.rows[0].ok


@pytest.mark.parametrize(
    "name",
    [
        "สมชาย ใจดี",  # Thai
        "محمد عبد الله",  # Arabic
        "ফারজানা আক্তার",  # Bengali
        "Nguyễn Thị Hương",  # Vietnamese
        "অনুপম দত্ত‌রায়",  # Bengali with a zero-width non-joiner
        "Zoë O'Brien-Ngāti",
    ],
)
def test_names_in_any_script_are_kept_exactly(name):
    data = f"email,name\r\nstaff@dis.gov.bd,{name}\r\n".encode()

    for encoded in (data, data.decode("utf-8").encode("utf-16")):
        row = parse(encoded).rows[0]
        assert row.ok
        assert row.name == name


def test_names_are_nfc_normalised():
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hương")
    assert decomposed != "Nguyễn Thị Hương"

    row = parse(f"email,name\r\nhuong@bocongan.gov.vn,{decomposed}\r\n").rows[0]

    assert row.name == "Nguyễn Thị Hương"


def test_exactly_the_row_limit_is_accepted():
    preview = parse(staff_file(MAX_ROWS))

    assert preview.refusal is None
    assert len(preview.valid_rows) == MAX_ROWS


def test_twenty_thousand_rows_are_refused_giving_the_limit():
    data = staff_file(20_000, with_courses=False).encode("utf-8")
    assert len(data) < MAX_BYTES  # so it is the row limit, not the size limit, that refuses it

    preview = parse(data)

    assert preview.rows == []
    assert preview.refusal is not None
    assert "2,000" in preview.refusal


def test_one_row_over_the_limit_is_refused():
    preview = parse(staff_file(MAX_ROWS + 1))

    assert preview.rows == []
    assert preview.refusal is not None and "more than 2,000" in preview.refusal


def test_a_ten_megabyte_file_is_refused_giving_the_limit():
    data = staff_file(100).encode("utf-8")
    data += b"anan.s@dsi.go.th," + b"A" * (10 * 1024 * 1024) + b",,\r\n"

    preview = parse(data)

    assert preview.rows == []
    assert preview.refusal == "The file is 10.0 MB; the limit is 2 MB. Split it into smaller files."


@pytest.mark.parametrize(
    "data", [b"", codecs.BOM_UTF8, b"\r\n\r\n   \r\n", "".encode("utf-16")], ids=repr
)
def test_an_empty_file_is_refused(data):
    preview = parse(data)

    assert (preview.rows, preview.refusal) == ([], "The file is empty.")


@pytest.mark.parametrize("data", ["email,name\r\n", "email,name,courses,due_date\r\n\r\n,,,\r\n"])
def test_a_file_with_only_a_header_row_is_refused(data):
    preview = parse(data)

    assert preview.rows == []
    assert preview.refusal is not None and "nobody to invite" in preview.refusal


def test_a_cell_too_large_for_the_csv_reader_refuses_the_file():
    data = "email,name\r\nanan.s@dsi.go.th," + "A" * 200_000 + "\r\n"

    preview = parse(data)

    assert preview.rows == []
    assert preview.refusal is not None and "near line 2" in preview.refusal


def check_preview_shape(preview: InvitationPreview) -> None:
    if preview.refusal is not None:
        assert preview.rows == []
        return
    assert preview.rows
    lines = [row.line for row in preview.rows]
    assert lines == sorted(set(lines))
    assert lines[0] >= 2
    assert preview.valid_rows + preview.refused_rows == sorted(
        preview.rows, key=lambda row: not row.ok
    )
    for row in preview.rows:
        assert row.ok == (not row.errors)
        assert row.email == row.email.lower()


@settings(max_examples=300, deadline=None, database=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_give_a_refusal_or_rows_and_never_raise(data):
    check_preview_shape(parse(data))


# Fragments that reach every branch (delimiters, quotes, line breaks, real slugs, dates and
# addresses, formula prefixes) mixed with any text at all.
csv_ish_text = st.lists(
    st.one_of(
        st.sampled_from(
            list(',;\t"\r\n =+-@') + ["untoc-essentials", "2026-04-01", "2020-01-01", "a@dsi.go.th"]
        ),
        st.text(st.characters(codec="utf-8"), max_size=5),
    ),
    max_size=80,
).map("".join)


@settings(max_examples=300, deadline=None, database=None)
@given(
    header=st.sampled_from([HEADER, "email;name;courses", "email\tname", "name,email,due_date"]),
    body=csv_ish_text,
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_arbitrary_text_under_a_valid_header_gives_a_refusal_or_rows(header, body, encoding):
    preview = parse(f"{header}\r\n{body}".encode(encoding))

    check_preview_shape(preview)
