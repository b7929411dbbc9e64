"""The certificate PDF: one A4 landscape page, names in any script drawn with real glyphs.

The checks read the PDF back as a viewer would: pypdf for pages, text, links and images;
fontTools for the font programs that the PDF embeds; zxing-cpp to scan the QR code.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import sys
import unicodedata
from array import array
from dataclasses import dataclass, replace
from datetime import date
from functools import cache
from pathlib import Path

import pytest
import zxingcpp
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from app.certificates.pdf import (
    FONT_DIR,
    QR_SIZE,
    CertificateFacts,
    _CertificatePDF,
    render_certificate_pdf,
    uncovered_characters,
)

ROOT = Path(__file__).resolve().parents[2]
URL = "https://learn.example.org/verify/RSO-7KQ4-M2XW-9PHD-3"
FACTS = CertificateFacts(
    learner_name="Nguyễn Thị Hồng",
    course_title="Countering trafficking in persons",
    completed_on=date(2025, 3, 14),
    course_version=3,
    hours=2.5,
    issuer_name="Bali Process Regional Support Office",
    code="RSO-7KQ4-M2XW-9PHD-3",
    verify_url=URL,
)

# The course title stays Latin in the name checks, so that every glyph of a non-Latin
# script on the page was drawn for the name.
NAMES = {
    "vietnamese": "Nguyễn Thị Hồng",
    "thai": "สมชาย ใจดี",
    "khmer": "សុខ សុភា",
    "bengali": "রহিম উদ্দিন",
    "sinhala": "කමල් පෙරේරා",
    "chinese": "王小明",
    "arabic": "محمد علی",
    "urdu": "عائشہ بی بی",
    "mixed": "Nguyễn สมชาย محمد 王小明",
    # Other scripts of the region that the shipped fonts cover.
    "sinhala conjunct": "ශ්‍රීමතී කමලා",
    "arabic with vowel marks": "مُحَمَّد",
    "lao": "ສົມພອນ ແກ້ວມະນີ",
    "burmese": "အောင်ဆန်းစုကြည်",
    "nepali": "राम बहादुर",
    "tamil": "முருகன் செல்வம்",
    "dhivehi": "އަޙްމަދު",
    "dzongkha": "བཀྲ་ཤིས་",
    "korean": "김민수",
    "japanese": "さとう ひろし",
    "traditional chinese": "陳大文",
}

# pypdf gives each of these names back as a line of the page text, unchanged.
ROUND_TRIPS = ["vietnamese", "thai", "khmer", "chinese", "arabic", "mixed", "korean"]
# In these, HarfBuzz draws one character as several glyphs or reorders glyphs (Bengali
# and Sinhala vowel signs written before or around their consonant, Nastaliq letters
# made of a body and separate dots). fpdf2 maps the cluster's text to its first glyph
# and leaves the other glyphs of the cluster out of the ToUnicode CMap; pypdf then
# prints such a glyph as the character whose number is its code (poppler prints
# nothing). With those codes dropped, the name comes back whole and in order.
ROUND_TRIPS_WITHOUT_UNMAPPED_GLYPHS = ["bengali", "sinhala", "urdu"]


@cache
def render(facts: CertificateFacts) -> bytes:
    return render_certificate_pdf(facts)


@cache
def read(facts: CertificateFacts) -> PdfReader:
    return PdfReader(io.BytesIO(render(facts)))


def with_name(name: str) -> CertificateFacts:
    return replace(FACTS, learner_name=name)


@dataclass
class EmbeddedFont:
    program: TTFont  # the subset that the PDF embeds (FontFile2)
    to_unicode: dict[int, str]  # code -> text, from the ToUnicode CMap
    glyph_of_code: array[int]  # code -> glyph index, from the CIDToGIDMap

    def draws(self, code: int) -> bool:
        """Whether `code` shows a glyph of the font program, and not .notdef (the box)."""
        # Not whether that glyph has outlines: Nastaliq starts some letters with an
        # empty glyph that carries the text, and draws the letter with the next one.
        return 0 < self.glyph_of_code[code] < self.program["maxp"].numGlyphs


def embedded_fonts(reader: PdfReader) -> list[EmbeddedFont]:
    fonts = []
    for ref in reader.pages[0]["/Resources"]["/Font"].values():
        font = ref.get_object()
        descendant = font["/DescendantFonts"][0].get_object()
        program = descendant["/FontDescriptor"]["/FontFile2"].get_object().get_data()
        glyph_of_code = array("H", descendant["/CIDToGIDMap"].get_object().get_data())
        if sys.byteorder == "little":
            glyph_of_code.byteswap()  # the PDF stores big-endian 16-bit glyph indices
        cmap = font["/ToUnicode"].get_object().get_data().decode("latin-1")
        to_unicode = {
            int(code, 16): bytes.fromhex(text).decode("utf-16-be")
            for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S)
            for code, text in re.findall(r"<([0-9A-F]+)>\s*<([0-9A-F]*)>", block)
        }
        fonts.append(EmbeddedFont(TTFont(io.BytesIO(program)), to_unicode, glyph_of_code))
    return fonts


def drawn_characters(reader: PdfReader) -> set[str]:
    """The characters that some embedded font draws with a real glyph."""
    drawn = set()
    for font in embedded_fonts(reader):
        for code, text in font.to_unicode.items():
            if font.draws(code):
                drawn.update(text)
    return drawn


def unmapped_codes_as_pypdf_prints_them(reader: PdfReader) -> set[str]:
    return {
        chr(code)
        for font in embedded_fonts(reader)
        for code, glyph_index in enumerate(font.glyph_of_code)
        if glyph_index and code not in font.to_unicode
    }


def page_text(facts: CertificateFacts) -> str:
    return read(facts).pages[0].extract_text()


# The page -------------------------------------------------------------------------------


def test_certificate_is_one_a4_landscape_page() -> None:
    reader = read(FACTS)

    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (842, 595)  # 297 x 210 mm


def test_certificate_says_what_was_completed_by_whom() -> None:
    lines = page_text(FACTS).splitlines()

    assert "Certificate of completion" in lines
    assert "Nguyễn Thị Hồng" in lines
    assert "has completed the course" in lines
    assert "Countering trafficking in persons" in lines
    assert "Completed on 14 March 2025" in lines
    assert "Course version 3 · about 2.5 hours of study" in lines
    assert "Bali Process Regional Support Office" in lines


@pytest.mark.parametrize(
    ("hours", "wording"),
    [(1, "about 1 hour of study"), (6.2, "about 6 hours of study"), (0.5, "about 30 minutes")],
)
def test_study_time_is_given_in_words(hours: float, wording: str) -> None:
    assert wording in page_text(replace(FACTS, hours=hours))


def test_verification_code_and_link_are_printed() -> None:
    lines = page_text(FACTS).splitlines()

    assert "RSO-7KQ4-M2XW-9PHD-3" in lines
    assert URL in lines


def test_verification_link_is_clickable() -> None:
    annotations = [a.get_object() for a in read(FACTS).pages[0]["/Annots"]]

    assert annotations
    assert {a["/Subtype"] for a in annotations} == {"/Link"}
    assert {a["/A"]["/URI"] for a in annotations} == {URL}
    assert len(annotations) == 2  # the printed link and the QR code


def test_qr_code_scans_to_the_verification_link() -> None:
    images = read(FACTS).pages[0].images

    assert len(images) == 1
    qr = images[0].image
    # Printed QR_SIZE mm wide, at no less than 300 dots per inch.
    assert qr.width >= QR_SIZE / 25.4 * 300
    assert [code.text for code in zxingcpp.read_barcodes(qr)] == [URL]


def test_status_note_is_printed_prominently() -> None:
    assert "Revoked" not in page_text(FACTS)

    text = page_text(replace(FACTS, status_note="Revoked"))

    assert "Revoked" in text.splitlines()  # in the band at the top
    # and across the page, where pypdf reads the slanted word in pieces
    assert text.replace("\n", "").count("Revoked") == 2


def test_a_very_long_course_title_wraps_and_stays_on_the_page() -> None:
    title = (
        "Countering trafficking in persons and the smuggling of migrants: legal frameworks, "
        "victim identification, international cooperation and the protection of the rights "
        "of smuggled migrants under the United Nations Convention against Transnational "
        "Organized Crime and its Protocols, with case studies from the region. "
    ) * 3
    facts = replace(FACTS, course_title=title)
    reader = read(facts)
    lines = reader.pages[0].extract_text().splitlines()
    start = lines.index("has completed the course") + 1
    end = lines.index("Completed on 14 March 2025")

    assert len(reader.pages) == 1
    assert 2 <= end - start <= 3
    assert lines[end - 1].endswith("…")
    assert title.startswith(" ".join(lines[start:end]).removesuffix("…"))


def test_every_word_of_a_wrapped_title_in_two_scripts_is_printed() -> None:
    title = "مكافحة الاتجار بالبشر وتهريب المهاجرين " * 4 + "UNTOC"
    text = page_text(replace(FACTS, course_title=title))

    assert set(title.split()) <= set(text.split())
    assert "…" not in text


def test_a_long_name_takes_two_lines_at_most() -> None:
    name = "Maria Clara de los Santos Fernández-Villanueva y Rodríguez Bautista " * 2
    lines = page_text(with_name(name)).splitlines()
    start = lines.index("This is to certify that") + 1
    end = lines.index("has completed the course")

    assert 1 <= end - start <= 2


# Scripts --------------------------------------------------------------------------------


@pytest.mark.parametrize("script", NAMES)
def test_every_character_of_the_name_is_drawn_with_an_embedded_font(script: str) -> None:
    name = NAMES[script]
    drawn = drawn_characters(read(with_name(name)))

    missing = {ch for ch in name if ch not in drawn and unicodedata.category(ch) != "Cf"}

    assert not missing


def test_a_character_that_no_font_has_is_found_missing() -> None:
    # The check above must be able to fail: an Egyptian hieroglyph is in no shipped font.
    name = "Ankh 𓋹"
    assert uncovered_characters(name) == "𓋹"

    drawn = drawn_characters(read(with_name(name)))

    assert "𓋹" not in drawn
    assert set("Ankh") <= drawn


@pytest.mark.parametrize("script", ROUND_TRIPS)
def test_the_name_can_be_copied_back_out(script: str) -> None:
    name = NAMES[script]

    assert name in page_text(with_name(name)).splitlines()


@pytest.mark.parametrize("script", ROUND_TRIPS_WITHOUT_UNMAPPED_GLYPHS)
def test_the_name_can_be_copied_back_out_but_for_unmapped_glyphs(script: str) -> None:
    name = NAMES[script]
    reader = read(with_name(name))
    unmapped = unmapped_codes_as_pypdf_prints_them(reader)
    # Not splitlines(): an unmapped code may come out as a form feed or a separator.
    lines = reader.pages[0].extract_text().split("\n")

    copied = [
        "".join(ch for ch in line if ch not in unmapped).strip()
        for line in lines[lines.index("This is to certify that") + 1 :][:1]
    ]

    assert copied == [name]


def test_marks_and_joiners_are_shaped_with_their_letters() -> None:
    # fpdf2's own font fallback would cut a run at each vowel mark or joiner, and HarfBuzz
    # would then shape the pieces apart: Arabic letters would not join, the Sinhala
    # conjunct ශ්‍රී would fall apart. Each of these must be one run in one face.
    pdf = _CertificatePDF(FACTS)
    try:
        pdf.set_font("noto-serif", "", 12)

        def runs(text: str) -> list[tuple[str, str | None]]:
            return [(run, face and face.family) for run, face in pdf._itemize(text)]

        assert runs("مُحَمَّد") == [("مُحَمَّد", "noto-naskh-arabic")]
        assert runs("ශ්‍රී ලංකා") == [("ශ්‍රී ලංකා", "noto-serif-sinhala")]
        assert runs("Lê (ලංකා)") == [("Lê (", None), ("ලංකා)", "noto-serif-sinhala")]
    finally:
        pdf.close_fonts()


def test_urdu_is_set_in_nastaliq_and_arabic_in_naskh() -> None:
    def base_fonts(name: str) -> set[str]:
        fonts = read(with_name(name)).pages[0]["/Resources"]["/Font"].values()
        return {str(font.get_object()["/BaseFont"]).split("+")[1] for font in fonts}

    assert "NotoNastaliqUrdu" in base_fonts(NAMES["urdu"])
    assert "NotoNaskhArabic" in base_fonts(NAMES["arabic"])


# Determinism ----------------------------------------------------------------------------


def test_the_same_facts_give_the_same_bytes() -> None:
    assert render_certificate_pdf(FACTS) == render_certificate_pdf(FACTS)


def test_the_same_facts_give_the_same_bytes_in_another_process() -> None:
    script = (
        "import hashlib, sys\n"
        "from tests.unit.test_certificate_pdf import FACTS\n"
        "from app.certificates.pdf import render_certificate_pdf\n"
        "sys.stdout.write(hashlib.sha256(render_certificate_pdf(FACTS)).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed, "LANG": lang, "TZ": tz},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        # Another hash seed (set iteration order), locale and time zone than this one.
        for seed, lang, tz in [("12345", "th_TH.UTF-8", "Asia/Bangkok")]
    }

    assert digests == {hashlib.sha256(render_certificate_pdf(FACTS)).hexdigest()}


def test_the_pdf_is_dated_on_the_day_of_completion() -> None:
    assert read(FACTS).metadata["/CreationDate"] == "D:20250314000000Z"


@pytest.mark.parametrize(
    "change",
    [
        {"learner_name": "Nguyễn Thị Hông"},
        {"course_title": "Countering trafficking in persons 2"},
        {"completed_on": date(2025, 3, 15)},
        {"course_version": 4},
        {"hours": 3},
        {"issuer_name": "Regional Support Office"},
        {"code": "RSO-7KQ4-M2XW-9PHD-4"},
        {"verify_url": URL.replace("learn.", "learning.")},
        {"status_note": "Revoked"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_different_facts_give_different_bytes(change: dict[str, object]) -> None:
    assert render(replace(FACTS, **change)) != render(FACTS)


# Fonts ----------------------------------------------------------------------------------


def test_every_shipped_font_is_listed_in_the_fonts_readme() -> None:
    readme = (FONT_DIR / "README.md").read_text()

    assert (FONT_DIR / "OFL.txt").is_file()
    for font in FONT_DIR.glob("*.ttf"):
        assert font.name in readme
