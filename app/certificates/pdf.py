"""The completion certificate as a one-page A4 landscape PDF.

Learners' names and course titles come in the scripts of the Bali Process region, so
the page is typeset with fpdf2 and HarfBuzz (shaping, right-to-left) and the Noto
fonts shipped in `fonts/` (see its README). Rendering is deterministic: the same
facts give the same bytes, so a certificate can be rebuilt on demand instead of
being stored.
"""

from __future__ import annotations

import io
import logging
import math
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from functools import cache, partial
from pathlib import Path
from typing import Any

import segno
from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.bidi import auto_detect_base_direction
from fpdf.enums import Align
from fpdf.fonts import TTFFont
from fpdf.line_break import Fragment

log = logging.getLogger(__name__)

FONT_DIR = Path(__file__).with_name("fonts")

# The Latin face (also Vietnamese, Greek, Cyrillic) carries the page's own wording.
LATIN_FAMILY = "noto-serif"
LATIN_LEADING = 1.3
LATIN_FILES = {
    "": "NotoSerif-Regular.ttf",
    "B": "NotoSerif-Bold.ttf",
    "I": "NotoSerif-Italic.ttf",
}


@dataclass(frozen=True)
class _Face:
    family: str
    file: str
    # Line height as a multiple of the type size: stacked marks (Thai, Khmer
    # subscripts, Tibetan stacks) and Nastaliq's sloping words need more room.
    leading: float


# Letters that Urdu (and Punjabi Shahmukhi) use and Arabic, Persian, Dari and Pashto do
# not: text with one of them is set in Nastaliq, the style Urdu is read in; other
# Arabic-script text in Naskh.
_URDU_LETTERS = frozenset("ٹڈڑںھہۂۃےۓ")
_NASKH = _Face("noto-naskh-arabic", "NotoNaskhArabic-Regular.ttf", 1.6)
_NASTALIQ = _Face("noto-nastaliq-urdu", "NotoNastaliqUrdu-Regular.ttf", 2.2)

# The scripts of the Bali Process members' official languages. A letter is set in
# the first face that has a glyph for it, so the order only matters where faces
# overlap: Arabic script (see above) and punctuation.
_SCRIPT_FACES = (
    _Face("noto-serif-thai", "NotoSerifThai-Regular.ttf", 1.6),
    _Face("noto-serif-lao", "NotoSerifLao-Regular.ttf", 1.6),
    _Face("noto-serif-khmer", "NotoSerifKhmer-Regular.ttf", 1.7),
    _Face("noto-serif-myanmar", "NotoSerifMyanmar-Regular.ttf", 1.7),
    _Face("noto-serif-bengali", "NotoSerifBengali-Regular.ttf", 1.5),
    _Face("noto-serif-devanagari", "NotoSerifDevanagari-Regular.ttf", 1.5),
    _Face("noto-serif-tamil", "NotoSerifTamil-Regular.ttf", 1.5),
    _Face("noto-serif-sinhala", "NotoSerifSinhala-Regular.ttf", 1.5),
    _Face("noto-serif-tibetan", "NotoSerifTibetan-Regular.ttf", 1.9),
    _Face("noto-sans-thaana", "NotoSansThaana-Regular.ttf", 1.6),
    _NASKH,
    _NASTALIQ,
    _Face("noto-serif-cjk", "NotoSerifCJKsc-Subset.ttf", 1.4),
)
_URDU_FACES = tuple(face for face in _SCRIPT_FACES if face is not _NASKH) + (_NASKH,)

INK = (34, 34, 34)
NAVY = (31, 58, 95)
GOLD = (176, 141, 87)
GREY = (95, 99, 104)
ALERT = (176, 0, 32)

PAGE_W, PAGE_H = 297.0, 210.0  # A4 landscape, mm
TEXT_W = 235.0  # width of the centred name and course title
PT = 25.4 / 72  # one typographic point in mm
QR_SIZE = 30.0  # mm; comfortably scannable from paper and screen
QR_DPI = 300  # print resolution of the QR image

_MONTHS = (
    "January February March April May June July August September October November December"
).split()


@dataclass(frozen=True)
class CertificateFacts:
    learner_name: str  # any script
    course_title: str  # any script
    completed_on: date
    course_version: int
    hours: float  # estimated study time
    issuer_name: str  # e.g. "Bali Process Regional Support Office"
    code: str  # verification code, e.g. "RSO-7KQ4-M2XW-9PHD-3"
    verify_url: str  # e.g. "https://learn.example.org/verify/RSO-7KQ4-M2XW-9PHD-3"
    status_note: str | None = None  # e.g. "Revoked" (printed prominently when set)


def render_certificate_pdf(facts: CertificateFacts) -> bytes:
    """Return the certificate for `facts` as PDF bytes, the same bytes for the same facts."""
    missing = uncovered_characters(f"{facts.learner_name} {facts.course_title} {facts.issuer_name}")
    if missing:
        log.warning("Certificate %s: no font has %r, left out of the PDF", facts.code, missing)
    pdf = _CertificatePDF(facts)
    try:
        pdf.draw()
        return bytes(pdf.output())
    finally:
        pdf.close_fonts()


def uncovered_characters(text: str) -> str:
    """The characters of `text` that no certificate font has: they are left out of the PDF."""
    faces = [_cmap(name) for name in LATIN_FILES.values()] + [
        _cmap(face.file) for face in _SCRIPT_FACES
    ]
    missing = dict.fromkeys(
        ch
        for ch in unicodedata.normalize("NFC", text)
        if not _is_invisible(ch) and not any(ord(ch) in cmap for cmap in faces)
    )
    return "".join(missing)


@cache
def _cmap(file: str) -> frozenset[int]:
    """The code points that a font file has glyphs for, read once per process."""
    with TTFont(FONT_DIR / file, lazy=True) as font:
        return frozenset(font.getBestCmap())


def _is_invisible(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Cf")


def _is_letter(ch: str) -> bool:
    # Marks, digits, punctuation, spaces and joiners (ZWJ, ZWNJ) are not: they go with
    # the letters around them, so that a run is shaped as one piece.
    return unicodedata.category(ch) in ("Lu", "Ll", "Lt", "Lo")


# Thai and Lao vowels written before their consonant, and those that close a syllable:
# no line break after the first nor before the second, lest a syllable be split.
_LEADING_VOWELS = frozenset("เแโใไເແໂໃໄ")
_FOLLOWING_VOWELS = frozenset("ะาำๅະາຳ")


def _break_points(word: str) -> list[int]:
    """Where a word with no spaces may break: before a letter that starts a cluster.

    Not before a mark or a joiner, nor after a virama or Khmer coeng (they bind the
    next consonant to the cluster), so a line never starts with a dotted circle.
    """
    return [
        i
        for i in range(1, len(word))
        if _is_letter(word[i])
        and word[i] not in _FOLLOWING_VOWELS
        and word[i - 1] not in _LEADING_VOWELS
        and unicodedata.combining(word[i - 1]) != 9  # virama, coeng
        and word[i - 1] not in "\u200d\u200c"
    ]


def _format_date(day: date) -> str:
    # Spelled out, not from the locale: "3 April 2025" reads the same everywhere.
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _format_study_time(hours: float) -> str:
    """'about 2.5 hours of study': to the nearest half hour, or minutes below one hour."""
    if hours < 0.75:
        minutes = max(5, 5 * round(hours * 12))
        return f"about {minutes} minutes of study"
    rounded = round(hours * 2) / 2
    unit = "hour" if rounded == 1 else "hours"
    return f"about {rounded:g} {unit} of study"


def _qr_png(url: str) -> bytes:
    """The QR code of `url` as a black and white PNG of at least QR_DPI at QR_SIZE."""
    qr = segno.make(url, error="m", micro=False)
    modules = qr.symbol_size(border=4)[0]
    scale = math.ceil(QR_DPI * QR_SIZE / 25.4 / modules)
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=4, dark="#000", light="#fff")
    return buffer.getvalue()


class _CertificatePDF(FPDF):
    """One certificate: fpdf2 with the shipped fonts and script-aware font selection."""

    def __init__(self, facts: CertificateFacts) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        # Composed characters (NFC) shape best; line breaks and tabs would break the
        # layout, so all white space becomes single spaces.
        self.facts = CertificateFacts(
            **{
                name: " ".join(unicodedata.normalize("NFC", value).split())
                if isinstance(value, str)
                else value
                for name, value in vars(facts).items()
            }
        )
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        self.c_margin = 0
        # The shaping language is fixed: left unset, HarfBuzz takes it from the process
        # locale, and the same facts could give different glyphs on another server.
        self.set_text_shaping(language="en")
        # Nothing in the file may depend on when or where it is made: the creation date
        # is the completion date, and fpdf2 derives the file /ID from the content.
        self.set_creation_date(datetime.combine(facts.completed_on, time(0), tzinfo=UTC))
        self.set_lang("en")
        self.set_title(f"Certificate of completion: {self.facts.course_title}")
        self.set_subject(f"{self.facts.learner_name}, {self.facts.course_title}")
        self.set_author(self.facts.issuer_name)
        self.set_keywords(self.facts.code)
        self.set_creator(self.facts.issuer_name)
        for style, file in LATIN_FILES.items():
            self.add_font(LATIN_FAMILY, style, FONT_DIR / file)
        self._faces: Sequence[_Face] = _SCRIPT_FACES
        self.add_page()

    def close_fonts(self) -> None:
        """Close the font files, which fpdf2 reads lazily and leaves open."""
        for font in self.fonts.values():
            if isinstance(font, TTFFont):
                font.close()

    # Font selection -----------------------------------------------------------------

    def _parse_chars(self, text: str, markdown: bool, **kwargs: Any) -> Iterator[Fragment]:
        # fpdf2's own fallback (set_fallback_fonts) starts a new fragment at every
        # combining mark and joiner, and HarfBuzz shapes each fragment on its own: Arabic
        # letters with vowel marks come apart and Sinhala "ශ්‍රී" loses its conjunct. So
        # the runs are made here: each letter in the first face that has it, everything
        # else (marks, joiners, spaces, digits, punctuation) with the letter before it.
        # Bidi has already split the text into runs of one direction.
        if markdown:
            yield from super()._parse_chars(text, markdown, **kwargs)
            return
        if self.font_family != LATIN_FAMILY:
            # Runs without a face of their own take the current font, which must be the
            # Latin one: set_font() before each cell(), as drawing a line leaves the font
            # of its last run current.
            raise RuntimeError(f"text set in {self.font_family}, not {LATIN_FAMILY}")
        base = self._get_current_graphics_state()
        for run, face in self._itemize(text):
            state = base.copy()
            if face is not None:
                self._use_face(face)
                state.font_family = face.family
                state.font_style = ""
                state.current_font = self.fonts[face.family]
            yield Fragment(run, state, self.k)

    def _itemize(self, text: str) -> list[tuple[str, _Face | None]]:
        """Split `text` into (run, face) pairs; face None is the current Latin font."""
        latin = _cmap(LATIN_FILES[self.font_style])

        def first_face(ch: str) -> _Face | None:
            if ord(ch) in latin:
                return None
            return next((f for f in self._faces if ord(ch) in _cmap(f.file)), None)

        def has(face: _Face | None, ch: str) -> bool:
            return ord(ch) in (latin if face is None else _cmap(face.file)) or _is_invisible(ch)

        faces: list[_Face | None] = [None] * len(text)
        letters = [i for i, ch in enumerate(text) if _is_letter(ch)]
        for i in letters:
            faces[i] = first_face(text[i])
        previous: int | None = letters[0] if letters else None
        for i, ch in enumerate(text):
            if _is_letter(ch):
                previous = i
            elif previous is not None and has(faces[previous], ch):
                faces[i] = faces[previous]
            else:
                faces[i] = first_face(ch)
        runs: list[tuple[str, _Face | None]] = []
        start = 0
        for i in range(1, len(text) + 1):
            if i == len(text) or faces[i] != faces[start]:
                runs.append((text[start:i], faces[start]))
                start = i
        return runs

    def _use_face(self, face: _Face) -> None:
        if face.family not in self.fonts:
            self.add_font(face.family, "", FONT_DIR / face.file)

    @contextmanager
    def _setting(self, text: str) -> Iterator[float]:
        """Prepare to set `text` (faces, paragraph direction); gives its line height factor."""
        if _URDU_LETTERS.intersection(text):
            self._faces = _URDU_FACES
        # Every line of a block takes the direction of the whole text, so that the
        # second line of an Arabic title starting with a Latin word still reads from
        # the right.
        self.set_text_shaping(language="en", direction=auto_detect_base_direction(text))
        try:
            faces = {face for _, face in self._itemize(text) if face is not None}
            yield max([LATIN_LEADING, *(face.leading for face in faces)])
        finally:
            self._faces = _SCRIPT_FACES
            self.set_text_shaping(language="en")

    # Text blocks --------------------------------------------------------------------

    def _text(
        self,
        text: str,
        *,
        y: float,
        size: float,
        style: str = "",
        colour: tuple[int, int, int] = INK,
        x: float | None = None,
        width: float = TEXT_W,
        align: Align = Align.C,
        max_lines: int = 1,
        min_size: float | None = None,
        height: float | None = None,
        link: str | None = None,
    ) -> None:
        """Set `text` in a block of `width` (centred on the page unless `x` is given).

        The type shrinks, down to `min_size`, until the text fits in `max_lines` lines
        (and in `height`, if given, in which the block is then centred vertically); what
        still does not fit is cut off with an ellipsis, so nothing can spill over.
        """
        x = (PAGE_W - width) / 2 if x is None else x
        self.set_font(LATIN_FAMILY, style, size)
        with self._setting(text) as leading:
            min_size = min_size or size
            while True:
                self.set_font(LATIN_FAMILY, style, size)
                line_h = size * PT * leading
                limit = max_lines if height is None else min(max_lines, int(height // line_h))
                limit = max(1, limit)
                lines = self._lines(text, width, limit)
                if len(lines) <= limit or size <= min_size:
                    break
                size = max(min_size, size - 1)
            if len(lines) > limit:
                lines = [*lines[: limit - 1], self._with_ellipsis(lines[limit - 1], width)]
            top = y if height is None else y + (height - len(lines) * line_h) / 2
            self.set_text_color(*colour)
            for number, line in enumerate(lines):
                line_y = top + number * line_h
                # Again for each line: fpdf2 leaves the font of the last run drawn current.
                self.set_font(LATIN_FAMILY, style, size)
                if link:  # over the words only, not the whole width of the block
                    line_w = self.get_string_width(line)
                    slack = {Align.L: 0.0, Align.C: 0.5, Align.R: 1.0}[align] * (width - line_w)
                    self.link(x + slack, line_y, line_w, line_h, link)
                self.set_xy(x, line_y)
                self.cell(width, line_h, line, align=align)

    def _lines(self, text: str, width: float, limit: int) -> list[str]:
        """Break `text` into lines of at most `width`; stops after `limit` + 1 lines.

        Lines break at spaces; a word longer than a line (Thai, Khmer or Chinese titles
        may have no spaces at all) breaks between clusters, see _break_points.
        """
        lines: list[str] = []
        line = ""
        for word in text.split(" "):
            candidate = f"{line} {word}" if line else word
            if self.get_string_width(candidate) <= width:
                line = candidate
                continue
            if line:
                lines.append(line)
                line = ""
            while word and len(lines) <= limit:
                if self.get_string_width(word) <= width:
                    line = word
                    break
                # Binary search for the longest start of the word that fits a line.
                points = _break_points(word)
                low, high = 0, len(points)
                while low < high:
                    middle = (low + high + 1) // 2
                    if self.get_string_width(word[: points[middle - 1]]) <= width:
                        low = middle
                    else:
                        high = middle - 1
                cut = points[low - 1] if low else (points[0] if points else len(word))
                lines.append(word[:cut])
                word = word[cut:]
            if len(lines) > limit:
                return lines
        if line:
            lines.append(line)
        return lines

    def _with_ellipsis(self, line: str, width: float) -> str:
        """`line` shortened (by words, or by clusters) until it fits with an ellipsis."""
        while line and self.get_string_width(line + "…") > width:
            if " " in line.strip():
                line = line.rstrip().rsplit(" ", 1)[0]
            else:
                points = _break_points(line)
                line = line[: points[-1]] if points else ""
        return line.rstrip() + "…"

    # The page -----------------------------------------------------------------------

    def draw(self) -> None:
        facts = self.facts
        self._border()
        if facts.status_note:
            self._status(facts.status_note)
        else:
            self._text(facts.issuer_name, y=20, size=12, colour=GREY, min_size=8)
        self._text("Certificate of completion", y=31, size=34, style="B", colour=NAVY)
        self._rule(PAGE_W / 2, 49, 40, GOLD, 0.6)
        self._text("This is to certify that", y=53, size=13, style="I", colour=GREY)
        self._text(facts.learner_name, y=60, size=36, max_lines=2, min_size=16, height=28)
        self._rule(PAGE_W / 2, 89.5, 150, GOLD, 0.3)
        self._text("has completed the course", y=92, size=13, style="I", colour=GREY)
        self._text(
            facts.course_title, y=99.5, size=20, colour=NAVY, max_lines=3, min_size=11, height=33
        )
        self._text(f"Completed on {_format_date(facts.completed_on)}", y=135, size=13)
        study = _format_study_time(facts.hours)
        version = f"Course version {facts.course_version} · {study}"
        self._text(version, y=142, size=11, colour=GREY)
        self._issuer_block()
        self._verification_block()

    def _border(self) -> None:
        self.set_draw_color(*NAVY)
        self.set_line_width(0.9)
        self.rect(8, 8, PAGE_W - 16, PAGE_H - 16)
        self.set_draw_color(*GOLD)
        self.set_line_width(0.35)
        self.rect(11, 11, PAGE_W - 22, PAGE_H - 22)
        self.set_fill_color(*GOLD)
        for x, y in ((11, 11), (PAGE_W - 11, 11), (11, PAGE_H - 11), (PAGE_W - 11, PAGE_H - 11)):
            self.rect(x - 1.6, y - 1.6, 3.2, 3.2, style="F")

    def _rule(
        self, centre: float, y: float, width: float, colour: tuple[int, int, int], weight: float
    ) -> None:
        self.set_draw_color(*colour)
        self.set_line_width(weight)
        self.line(centre - width / 2, y, centre + width / 2, y)

    def _status(self, note: str) -> None:
        """A red band at the top, and the note faintly across the page, hard to crop away."""
        size = 96.0
        self.set_font(LATIN_FAMILY, "B", size)
        with self._setting(note) as leading:
            while size > 24 and self.get_string_width(note) > 210:
                size -= 4
                self.set_font(LATIN_FAMILY, "B", size)
            self.set_text_color(*ALERT)
            with (
                self.local_context(fill_opacity=0.10),
                self.rotation(angle=24, x=PAGE_W / 2, y=PAGE_H / 2),
            ):
                line_h = size * PT * leading
                self.set_xy(0, (PAGE_H - line_h) / 2)
                self.cell(PAGE_W, line_h, note, align=Align.C)
        self.set_fill_color(251, 233, 233)
        self.set_draw_color(*ALERT)
        self.set_line_width(0.5)
        self.rect(60, 15, PAGE_W - 120, 13, style="DF")
        self._text(
            note, y=15, height=13, size=20, style="B", colour=ALERT, width=PAGE_W - 130, min_size=8
        )

    def _issuer_block(self) -> None:
        self._rule(78, 172, 90, GREY, 0.25)
        self._text("Issued by", x=33, y=165, width=90, size=10, style="I", colour=GREY)
        self._text(
            self.facts.issuer_name,
            x=33,
            y=174,
            width=90,
            size=12,
            style="B",
            colour=NAVY,
            max_lines=2,
            min_size=8,
        )

    def _verification_block(self) -> None:
        facts = self.facts
        qr_x, qr_y = PAGE_W - 22 - QR_SIZE, PAGE_H - 22 - QR_SIZE
        self.image(
            io.BytesIO(_qr_png(facts.verify_url)),
            x=qr_x,
            y=qr_y,
            w=QR_SIZE,
            h=QR_SIZE,
            link=facts.verify_url,
            alt_text=f"QR code of {facts.verify_url}",
        )
        text = partial(self._text, x=qr_x - 104, width=100, align=Align.R, min_size=6)
        text("Verification code", y=qr_y, size=10, style="I", colour=GREY)
        text(facts.code, y=qr_y + 5, size=14, style="B", colour=NAVY)
        text("Check this certificate at", y=qr_y + 16, size=10, style="I", colour=GREY)
        text(facts.verify_url, y=qr_y + 21.5, size=9, colour=NAVY, link=facts.verify_url)
