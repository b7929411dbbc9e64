"""Moodle GIFT question banks to quiz Markdown, with every loss reported by its line.

The reading follows Moodle's own GIFT importer (question/format/gift/format.php): a blank line
ends a question, `//` lines are comments, the first `{` and the first `}` hold the answers,
and what lies between them decides the kind of question. What our quizzes cannot ask
(matching, numerical, essay, description) is reported by line and never dropped silently.
Nothing here touches the database; the result is checked by `app.authoring.parse` like any
quiz an author writes.
"""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote

import markdown

BLANK = "_____"  # what Moodle puts where a missing-word question's answer block stood
PLACEHOLDER = "Explanation to be written (imported from GIFT line {line})."

_PHP_SPACE = " \t\n\r\0\x0b"  # what PHP's trim() removes: Moodle's idea of a blank line
_ESCAPE = re.compile(r"\\([\\:#={}~n])")
_WEIGHT = re.compile(r"^%-*[0-9]{1,2}\.?[0-9]*%")
_FORMATS = ("moodle", "html", "plain", "markdown")
_TRUE_FALSE = {"T": True, "TRUE": True, "F": False, "FALSE": False}
_SPACES = re.compile(r"[ \t\n\r\f\v]+")
_ENTITY = re.compile(r"&(#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")
_BACKTICKS = re.compile(r"`+")
# Characters that end a line for str.splitlines() (so for the quiz checker) become spaces;
# other control characters go (Python-Markdown uses \x02 and \x03 as its own markers).
_CLEAN = {
    **{code: None for code in [*range(0x00, 0x09), *range(0x0E, 0x1C), 0x1F, 0x7F]},
    **{code: " " for code in (0x0B, 0x0C, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029)},
}
# A line the quiz checker or Markdown would read as structure rather than as text.
_BLOCK_START = re.compile(
    r"^(?:(?P<hash>#)|(?P<quote>>)|(?P<bullet>[-+*])(?=\s|$)|(?P<number>\d+)(?P<dot>[.)])(?=\s|$)"
    r"|(?P<bang>!)|(?P<entity>[=:]|```|~~~|tests\s*:)|(?P<rule>[-_*])(?=[-_*\s]*$))",
    re.IGNORECASE,
)
_CHECKER_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ALLOWED_SCHEMES = ("http://", "https://", "mailto:")


@dataclass
class GiftReport:
    markdown: str  # the questions as quiz Markdown, without front matter
    imported: int  # how many questions the Markdown holds
    # (line, message): every question not imported or imported with a loss, every syntax error
    problems: list[tuple[int, str]] = field(default_factory=list)


def read_gift_bytes(data: bytes) -> tuple[str | None, str | None]:
    """(text, note): UTF-8, or Windows-1252 with a note saying so; (None, reason) if refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, "is UTF-16 text: save it as UTF-8 and try again"
    if b"\x00" in data:
        return None, "is a binary file, not a GIFT text file"
    note = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return None, "is neither UTF-8 nor Windows-1252 text"
        note = "is not UTF-8: it was read as Windows-1252; check its accented letters"
    text = text.removeprefix("\ufeff").removesuffix("\x1a")  # \x1a: an old DOS end of file
    controls = sum(1 for char in text if ord(char) < 0x20 and char not in "\t\n\r\f")
    if controls > len(text) / 100:
        return None, "is a binary file, not a GIFT text file"
    return text, note


def gift_to_markdown(text: str) -> GiftReport:
    """Turn a GIFT file's text into quiz questions, reporting what could not come across."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    reader = _Reader(text.translate(_CLEAN))
    reader.read()
    problems = sorted(reader.problems, key=lambda problem: problem[0])
    if not reader.questions and not problems:
        problems.append((1, "no question found: is this a GIFT file?"))
    lines: list[str] = []
    for question in reader.questions:
        lines.extend(question.markdown())
    return GiftReport("\n".join(lines), len(reader.questions), problems)


# --- text: HTML, Markdown, plain and Moodle formats to our Markdown ------------------------


@dataclass
class _Text:
    """Converted text: paragraphs of inline Markdown (with their plain text) and code blocks."""

    blocks: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, markdown, plain)

    def lines(self) -> list[str]:
        """One line per block, code blocks as code spans: for stems, choices, explanations."""
        return [md if kind == "para" else _code_span(_collapse(plain)) for kind, md, plain in self]

    def inline(self) -> str:
        return " ".join(self.lines())

    def plain(self) -> str:
        return _collapse(" ".join(plain for _, _, plain in self.blocks))

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        return iter(self.blocks)

    def __bool__(self) -> bool:
        return bool(self.blocks)


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _escape_inline(text: str) -> str:
    """Text that Markdown shows as it is: emphasis, links, code, raw HTML and attribute
    lists ({: .class}) cannot start inside it."""
    out: list[str] = []
    for index, char in enumerate(text):
        following = text[index + 1 : index + 2]
        if char in "\\`*[]{}":
            out.append("\\" + char)
        elif char == "(" and out and out[-1] == "\\]":
            out.append("\\(")  # so the checker does not read \[a\](b) as a link to b
        elif char == "<" and (not following or following.isalpha() or following in "/!?"):
            out.append("&lt;")
        elif char == "&" and _ENTITY.match(text, index):
            out.append("&amp;")
        else:
            out.append(char)
    return _escape_underscores("".join(out))


def _escape_underscores(text: str) -> str:
    # An underscore run at a word's edge can open or close emphasis; inside a word
    # (snake_case) or between spaces (the blank "_____") it is plain text.
    def replace(match: re.Match[str]) -> str:
        before = text[match.start() - 1] if match.start() else ""
        after = text[match.end()] if match.end() < len(text) else ""
        if before.isalnum() == after.isalnum() and before != "\\":
            return match.group()
        return "\\_" * len(match.group())

    return re.sub(r"_+", replace, text)


def _neutralise(line: str, *, block: bool = True) -> str:
    """Escape what would make a line a heading, list, quote, rule or block syntax.

    A line of a paragraph or of the explanation (block) also keeps clear of what the checker
    reads (= answer, tests:), of fences, and of setext and definition-list markers; a stem or
    a choice, alone on its line after '## ' or '- [ ] ', needs none of that."""
    match = _BLOCK_START.match(line)
    if not match:
        return line
    if match.group("number"):
        return match.group("number") + "\\" + line[match.end("number") :]
    if match.group("entity"):
        if not block:
            return line
        return f"&#{ord(line[0])};" + line[1:] if line[0] in "=:tT" else "&#8203;" + line
    return "\\" + line


def _code_span(text: str) -> str:
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    padding = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{padding}{text}{padding}{ticks}"


def _fence(code: str) -> list[str]:
    lines = code.strip("\n").split("\n")
    longest = max((len(run) for run in _BACKTICKS.findall(code)), default=0)
    fence = "`" * max(3, longest + 1)
    # The checker toggles code on any line starting ``` or ~~~, even inside a longer fence:
    # such a line is indented beyond its reach.
    return [
        fence,
        *("    " + line if _CHECKER_FENCE.match(line) else line for line in lines),
        fence,
    ]


class _HtmlToText(HTMLParser):
    """Walks HTML and keeps its text: bold, italic, code, links and preformatted blocks
    become Markdown, everything else becomes paragraphs of plain text."""

    BLOCKS = frozenset(
        "address article aside blockquote dd div dl dt figcaption figure footer h1 h2 h3 h4 h5 "
        "h6 header hr li main nav ol p section table tbody td tfoot th thead tr ul".split()
    )
    CODE = frozenset({"code", "tt", "kbd", "samp"})
    EMPHASIS = {"b": "**", "strong": "**", "i": "*", "em": "*"}
    MEDIA = frozenset({"audio", "video", "iframe", "object", "embed"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text = _Text()
        self.losses: list[str] = []
        self.parts: list[str] = []  # the paragraph being built, as Markdown
        self.plain: list[str] = []  # the same, as plain text
        self.marks: list[tuple[str, int, str]] = []  # open emphasis or link: tag, start, href
        self.code: list[str] | None = None
        self.pre: list[str] | None = None
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skip:
            return
        if self.pre is not None:
            if tag == "br":
                self.pre.append("\n")
            return
        if tag in ("script", "style"):
            self.skip += 1
        elif tag == "pre":
            self.flush()
            self.pre = []
        elif tag == "br" and self.code is not None:
            self.code.append(" ")
        elif tag == "br" or tag in self.BLOCKS:
            self.flush()
        elif self.code is not None:
            return
        elif tag in self.CODE:
            self.code = []
        elif tag in self.EMPHASIS:
            self.marks.append((tag, len(self.parts), ""))
        elif tag == "a":
            self.marks.append((tag, len(self.parts), dict(attrs).get("href") or ""))
        elif tag == "img":
            alt = _collapse(dict(attrs).get("alt") or "")
            described = f" ({alt})" if alt else ""
            self.losses.append(
                f"an image{described} was dropped: a course carries its images in media/"
            )
        elif tag in self.MEDIA:
            self.losses.append(f"embedded content (<{tag}>) was dropped")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.skip:
            self.skip -= 1
            return
        if self.skip:
            return
        if self.pre is not None:
            if tag == "pre":
                code = "".join(self.pre)
                if code.strip():
                    self.text.blocks.append(("code", code, code))
                self.pre = None
            return
        if tag in self.BLOCKS:
            self.flush()
        elif tag in self.CODE and self.code is not None:
            self.end_code()
        elif self.code is None:
            for position in range(len(self.marks) - 1, -1, -1):
                if self.marks[position][0] == tag:
                    _, start, href = self.marks.pop(position)
                    del self.marks[position:]
                    self.wrap(tag, start, href)
                    break

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        if self.pre is not None:
            self.pre.append(data)
        elif self.code is not None:
            self.code.append(data)
        else:
            text = _SPACES.sub(" ", data)
            self.parts.append(_escape_inline(text))
            self.plain.append(text)

    def end_code(self) -> None:
        code = _collapse("".join(self.code or []))
        self.code = None
        if code:
            self.parts.append(_code_span(code))
            self.plain.append(code)

    def wrap(self, tag: str, start: int, href: str) -> None:
        inner = "".join(self.parts[start:])
        core = inner.strip()
        del self.parts[start:]
        lead, trail = inner[: len(inner) - len(inner.lstrip())], inner[len(inner.rstrip()) :]
        if tag != "a":
            marker = self.EMPHASIS[tag]
            self.parts.append(f"{lead}{marker}{core}{marker}{trail}" if core else inner)
            return
        url = href.strip()
        if url.lower().startswith(_ALLOWED_SCHEMES):
            url = "".join(
                quote(char) if char in "()<>\\" or char.isspace() else char for char in url
            )
            self.parts.append(f"{lead}[{core or _escape_inline(href.strip())}]({url}){trail}")
            return
        self.parts.append(inner)
        if url and not url.startswith("#"):
            self.losses.append(
                f"the link to {url!r} was dropped, its text kept: only http, https and "
                "mailto links are kept"
            )

    def flush(self) -> None:
        if self.code is not None:
            self.end_code()
        self.marks.clear()
        # Text before a link may end in "!": as "![" it would make the link an image.
        markdown_text = _collapse("".join(self.parts)).replace("![", "&#33;[")
        if markdown_text:
            self.text.blocks.append(("para", markdown_text, _collapse("".join(self.plain))))
        self.parts, self.plain = [], []

    def close(self) -> None:
        super().close()
        if self.pre is not None:  # an unclosed <pre> ends with the text
            self.handle_endtag("pre")
        self.flush()


def _convert(text: str, text_format: str) -> tuple[_Text, list[str]]:
    """Text in one of Moodle's formats as paragraphs of our Markdown, and what was lost."""
    losses: list[str] = []
    if text_format == "html":
        source = text
    elif text_format == "markdown":
        try:
            source = markdown.markdown(text)
        except Exception:  # Python-Markdown on hostile input (deep nesting): keep the text
            losses.append("the Markdown could not be read: imported as plain text")
            source = html.escape(text).replace("\n", "<br>")
    elif text_format == "plain":
        source = html.escape(text).replace("\n", "<br>")
    else:  # moodle: HTML allowed, and a new line is a line break
        source = text.replace("\n", "<br>")
    parser = _HtmlToText()
    try:
        parser.feed(source)
        parser.close()
    except AssertionError:  # html.parser on a broken <![...]> section
        losses.append("the HTML could not be read: imported as plain text")
        parser = _HtmlToText()
        parser.feed(html.escape(text).replace("\n", "<br>"))
        parser.close()
    return parser.text, [*losses, *parser.losses]


def _split_format(text: str, default: str) -> tuple[str, str]:
    """([html], [markdown], [plain] or [moodle] at the start of a text, as Moodle reads it."""
    text = text.strip()
    if text.startswith("["):
        end = text.find("]")
        if end > 0 and text[1:end] in _FORMATS:
            return text[1:end], text[end + 1 :]
    return default, text


# --- questions ------------------------------------------------------------------------------


@dataclass
class _Question:
    line: int
    stem: str
    details: list[tuple[str, str, str]]
    choices: list[tuple[str, bool]]
    answers: list[str]
    explanation: list[str]
    placeholder: bool  # no feedback could serve as the explanation

    def signature(self) -> tuple[object, ...]:
        return (_stem_key(self.stem), tuple(self.choices), tuple(self.answers))

    def markdown(self) -> list[str]:
        lines = [f"## {self.stem}", ""]
        for kind, md, plain in self.details:
            lines.extend([_neutralise(md), ""] if kind == "para" else [*_fence(plain), ""])
        if self.choices:
            lines.extend(f"- [{'x' if correct else ' '}] {text}" for text, correct in self.choices)
        else:
            lines.extend(f"= {answer}" for answer in self.answers)
        lines.append("")
        lines.extend(f"> {line}" for line in self.explanation)
        lines.append("")
        return lines


def _stem_key(stem: str) -> str:
    return " ".join(stem.lower().split())  # as the checker compares stems


@dataclass
class _Answer:
    text: _Text
    label: str  # inline Markdown, to name the answer in the explanation
    correct: bool
    feedback: _Text


# (choices with whether each is right, accepted short answers, answers named for feedback)
_Parsed = tuple[list[tuple[str, bool]], list[str], list[_Answer]]


class _Escapes:
    """Escaped characters (\\= \\{ ...) stand in as private-use characters while the
    structure is read, as Moodle's placeholders do; none of them occurs in the text."""

    def __init__(self, text: str) -> None:
        used = set(text)
        candidates = itertools.chain(range(0xE000, 0xF900), range(0xF0000, 0xFFFFE))
        free = (chr(code) for code in candidates if chr(code) not in used)
        self.hidden = {char: next(free) for char in ":#={}~n"}
        self.shown = str.maketrans(
            {stand_in: "\n" if char == "n" else char for char, stand_in in self.hidden.items()}
        )

    def hide(self, text: str) -> str:
        def replace(match: re.Match[str]) -> str:
            char = match.group(1)
            return "\\" if char == "\\" else self.hidden[char]

        return _ESCAPE.sub(replace, text)

    def show(self, text: str) -> str:
        return text.translate(self.shown)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.escapes = _Escapes(text)
        self.problems: list[tuple[int, str]] = []
        self.questions: list[_Question] = []
        self.seen: dict[str, tuple[int, tuple[object, ...]]] = {}

    def problem(self, line: int, message: str) -> None:
        self.problems.append((line, message))

    def read(self) -> None:
        chunk: list[str] = []
        first = 1
        for number, line in enumerate([*self.text.split("\n"), ""], start=1):
            stripped = line.strip(_PHP_SPACE)
            if stripped:
                if not chunk:
                    first = number
                # Comment lines stay as empty lines, so offsets still give line numbers.
                chunk.append("" if stripped.startswith("//") else line)
            elif chunk:
                self.read_chunk(first, chunk)
                chunk = []

    def read_chunk(self, first: int, lines: list[str]) -> None:
        start = 0
        for offset, line in enumerate(lines):
            stripped = line.strip(_PHP_SPACE)
            if not stripped:
                continue
            if not stripped.startswith("$CATEGORY:"):
                break
            name = self.escapes.show(self.escapes.hide(stripped[len("$CATEGORY:") :]))
            self.problem(
                first + offset,
                f"category {_collapse(name)!r} noted: categories map to nothing here, "
                "its questions go into this quiz with the others",
            )
            # Moodle would swallow a question written right under the category line.
            start = offset + 1
        else:
            return  # comments and categories only
        first, lines = first + start, lines[start:]
        reported = len(self.problems)
        question = self.read_question(first, lines)
        if question is not None:
            self.add(question, reported)

    def add(self, question: _Question, reported: int) -> None:
        key = _stem_key(question.stem)
        if key in self.seen:
            line, signature = self.seen[key]
            if signature == question.signature():
                del self.problems[reported:]  # all said already about the first one
                self.problem(question.line, f"repeats the question on line {line}: not imported")
                return
            self.problem(
                question.line,
                f"asks the same as the question on line {line} with other answers: reword one "
                "of the two stems (the checker refuses a question asked twice)",
            )
        else:
            self.seen[key] = (question.line, question.signature())
        if question.placeholder:
            self.problem(
                question.line,
                "no feedback to use as the explanation: a placeholder stands in; write the "
                "explanation, citing the article it rests on, before publishing",
            )
        self.questions.append(question)

    def read_question(self, first: int, lines: list[str]) -> _Question | None:
        source = self.escapes.hide("\n".join(lines))

        def line_at(position: int) -> int:
            return first + source.count("\n", 0, position)

        start = len(source) - len(source.lstrip())
        line = line_at(start)
        title = ""
        body = start
        if source.startswith("::", start):
            end = source.find("::", start + 2)
            if end < 0:
                self.problem(line, "the title opened by '::' is not closed by '::': read as text")
                body = start + 2
            else:
                title = _collapse(self.escapes.show(source[start + 2 : end]))
                body = end + 2

        opening, closing = source.find("{", body), source.find("}", body)
        if opening < 0 and closing < 0:
            self.problem(
                line,
                "text with no answer block {...} (a description): not imported, "
                "a quiz has questions only",
            )
            return None
        if opening < 0 or 0 <= closing < opening:
            self.problem(
                line_at(closing),
                "syntax error: '}' with no '{' before it (write \\} for a brace): "
                "question not imported",
            )
            return None
        if closing < 0:
            self.problem(
                line_at(opening),
                "syntax error: '{' is not closed by '}' before the next blank line: "
                "question not imported",
            )
            return None
        inner = source.find("{", opening + 1, closing)
        if inner >= 0:
            self.problem(
                line_at(inner),
                "syntax error: '{' inside an answer block (a missing '}', or a missing blank "
                "line between two questions? write \\{ for a brace): question not imported",
            )
            return None
        after = source[closing + 1 :]
        stray = [found for found in (after.find("{"), after.find("}")) if found >= 0]
        if stray:
            self.problem(
                line_at(closing + 1 + min(stray)),
                "syntax error: a second answer block or a stray brace (separate questions with "
                "a blank line; write \\{ or \\} for a brace): question not imported",
            )
            return None

        answers_start, answers_end = opening + 1, closing
        general: tuple[str, int] | None = None
        separator = source.rfind("####", answers_start, answers_end)
        if separator >= 0:
            general = (source[separator + 4 : answers_end], line_at(separator))
            answers_end = separator
        answers = source[answers_start:answers_end].strip()

        if not answers:
            kind = "essay question ({})"
        elif answers.startswith("#"):
            kind = "numerical question ({#...})"
        elif "~" in answers:
            kind = "choice"
        elif "=" in answers and "->" in answers:
            kind = "matching question (->)"
        else:
            before_feedback = answers.split("#", 1)[0].strip() if "#" in answers else answers
            kind = "true/false" if before_feedback in _TRUE_FALSE else "short"
        if kind not in ("choice", "true/false", "short"):
            self.problem(line, f"{kind}: not imported, our quizzes have no such questions")
            return None

        missing_word = bool(after.strip())
        text_format, text = _split_format(
            source[body:opening] + (BLANK if missing_word else "") + after, "moodle"
        )
        question_text = self.convert(self.escapes.show(text), text_format, line)
        if missing_word:
            self.problem(
                line,
                f'missing-word question: imported with a blank "{BLANK}" in the stem where the '
                "answer block stood; check that the stem reads well",
            )
        blocks = question_text.blocks
        first_paragraph = next((i for i, block in enumerate(blocks) if block[0] == "para"), None)
        details = [block for i, block in enumerate(blocks) if i != first_paragraph]
        if first_paragraph is not None:
            stem = blocks[first_paragraph][1]
        elif title:
            stem = _escape_inline(title)
            self.problem(line, "the question has no text: its title is the stem")
        else:
            self.problem(line, "the question has no text: not imported")
            return None

        if kind == "choice":
            parsed = self.choices(source, answers_start, answers_end, text_format, line_at, line)
        elif kind == "true/false":
            parsed = self.true_false(answers, text_format, line)
        else:
            parsed = self.short_answers(
                source, answers_start, answers_end, text_format, line_at, line
            )
        if parsed is None:
            return None
        choices, accepted, named = parsed

        general_text = _Text()
        if general is not None:
            general_format, general_raw = _split_format(general[0], text_format)
            general_text = self.convert(self.escapes.show(general_raw), general_format, general[1])
        explanation = _explanation(general_text, named, line)
        return _Question(
            line=line,
            stem=_neutralise(stem, block=False),
            details=details,
            choices=[(_neutralise(text, block=False), correct) for text, correct in choices],
            answers=accepted,
            explanation=[_neutralise(part) for part in explanation],
            placeholder=explanation[0] == PLACEHOLDER.format(line=line),
        )

    def convert(self, text: str, text_format: str, line: int) -> _Text:
        converted, losses = _convert(text, text_format)
        for loss in losses:
            self.problem(line, loss)
        return converted

    def segments(
        self, source: str, start: int, end: int, markers: str
    ) -> list[tuple[str, int, str]]:
        """(marker, position, text) of each answer in source[start:end], as Moodle splits."""
        pieces: list[tuple[str, int, str]] = []
        mark, last = "", start
        for position in range(start, end):
            if source[position] in markers:
                pieces.append((mark, last, source[last:position]))
                mark, last = source[position], position + 1
        pieces.append((mark, last, source[last:end]))
        if not pieces[0][2].strip():
            pieces.pop(0)  # Moodle drops blank text before the first ~ or =
        return pieces

    def answer(
        self, raw: str, default_weight: float, text_format: str, line: int
    ) -> tuple[float, _Text, _Text, str]:
        """(weight, text, feedback, raw text) of one answer: %weight%text#feedback."""
        raw = raw.strip()
        weight = default_weight
        match = _WEIGHT.match(raw)
        if match:
            value = match.group()[1:-1]
            negative = value.startswith("-")
            weight = float(value.lstrip("-")) / 100 * (-1 if negative else 1)
            raw = raw[match.end() :]
        text, _, feedback = raw.partition("#")
        answer_format, answer_text = _split_format(text, text_format)
        feedback_format, feedback_text = _split_format(feedback, text_format)
        return (
            weight,
            self.convert(self.escapes.show(answer_text), answer_format, line),
            self.convert(self.escapes.show(feedback_text), feedback_format, line),
            _collapse(self.escapes.show(answer_text)),
        )

    def choices(
        self,
        source: str,
        start: int,
        end: int,
        text_format: str,
        line_at: Callable[[int], int],
        line: int,
    ) -> _Parsed | None:
        """Choices of a multiple-choice question: ~wrong =right ~%50%partly right."""
        pieces = self.segments(source, start, end, "~=")
        single = any(mark == "=" for mark, _, _ in pieces)
        read: list[tuple[float, _Text, _Text, int]] = []
        for mark, position, raw in pieces:
            at = line_at(position + len(raw) - len(raw.lstrip()))
            weight, text, feedback, _ = self.answer(
                raw, 1.0 if mark == "=" else 0.0, text_format, at
            )
            if not text.inline():
                self.problem(at, "an empty choice was dropped")
                continue
            read.append((weight, text, feedback, at))
        if len(read) < 2:
            self.problem(line, "a choice question needs at least two choices: not imported")
            return None
        if single:
            correct = [weight >= 0.9999 for weight, _, _, _ in read]
            for weight, text, _, at in read:
                if 0 < weight < 0.9999:
                    self.problem(
                        at,
                        f"choice {text.plain()!r} gave partial credit ({weight:.0%}): marked "
                        "wrong here, a choice is right or wrong",
                    )
            if not any(correct):
                self.problem(line, "no choice earns full credit: not imported")
                return None
            if sum(correct) > 1:
                self.problem(
                    line,
                    "several choices are marked right with '=': in Moodle any one of them "
                    "earns full credit, here the question is multiple response (choose all)",
                )
        else:
            positive = [weight for weight, _, _, _ in read if weight > 0]
            correct = [weight > 0 for weight, _, _, _ in read]
            if not positive:
                self.problem(line, "no choice has a positive weight: not imported")
                return None
            if len(positive) == 1 and positive[0] >= 0.9999:
                self.problem(
                    line,
                    "Moodle asks this with checkboxes, but only one choice has a positive "
                    "weight: here it is a single-choice question",
                )
            elif max(positive) - min(positive) > 0.001 or abs(sum(positive) - 1) > 0.01:
                weights = ", ".join(f"{weight:.0%}" for weight in positive)
                self.problem(
                    line,
                    f"the weights of the right choices ({weights}) are not equal shares of "
                    "100%: all are marked right, and partial scoring divides evenly",
                )
        texts = [_neutralise(text.inline(), block=False) for _, text, _, _ in read]
        keys = [" ".join(text.lower().split()) for text in texts]
        if len(set(keys)) != len(keys):
            self.problem(line, "two choices read the same: not imported")
            return None
        if sorted(keys) == ["false", "true"] and sum(correct) != 1:
            self.problem(line, "a true/false question needs one right answer: not imported")
            return None
        choices = [
            (text.inline(), right) for (_, text, _, _), right in zip(read, correct, strict=True)
        ]
        named = [
            _Answer(text, text.inline(), right, feedback)
            for (_, text, feedback, _), right in zip(read, correct, strict=True)
        ]
        return choices, [], named

    def true_false(self, answers: str, text_format: str, line: int) -> _Parsed:
        """{T}, {TRUE}, {F} or {FALSE}, then #feedback if wrong#feedback if right."""
        parts = [*answers.split("#", 2), "", ""]
        value = _TRUE_FALSE[parts[0].strip()]
        feedback = {}
        for is_right, raw in ((False, parts[1]), (True, parts[2])):
            raw_format, raw_text = _split_format(raw, text_format)
            feedback[is_right] = self.convert(self.escapes.show(raw_text), raw_format, line)
        named = [
            _Answer(_Text(), label, label_value == value, feedback[label_value == value])
            for label, label_value in (("True", True), ("False", False))
        ]
        choices = [("True", value), ("False", not value)]
        return choices, [], named

    def short_answers(
        self,
        source: str,
        start: int,
        end: int,
        text_format: str,
        line_at: Callable[[int], int],
        line: int,
    ) -> _Parsed | None:
        """Accepted answers: {=a =b}, {a}, with %50% partial credit that we cannot give."""
        accepted: list[str] = []
        named: list[_Answer] = []
        pieces = self.segments(source, start, end, "=")
        for mark, position, raw in pieces:
            at = line_at(position + len(raw) - len(raw.lstrip()))
            weight, text, feedback, raw_text = self.answer(raw, 1.0, text_format, at)
            answer = text.plain()
            label = _escape_inline(answer or raw_text)
            if not answer:
                self.problem(at, "an empty answer was dropped")
            elif weight < 0.9999:
                kind = "gave partial credit" if weight > 0 else "gave no credit"
                self.problem(
                    at,
                    f"answer {answer!r} {kind} ({weight:.0%}): dropped, only answers that earn "
                    "full credit are kept",
                )
            else:
                if "*" in answer:
                    self.problem(
                        at,
                        f"answer {answer!r}: '*' is a wildcard in Moodle, here it is matched "
                        "as it is written",
                    )
                if not mark and raw_text.upper() in _TRUE_FALSE and len(pieces) == 1:
                    self.problem(
                        at,
                        f"{{{raw_text}}} is a short answer, as in Moodle: write {{T}}, {{TRUE}}, "
                        "{F} or {FALSE} in capitals for a true/false question",
                    )
                if answer.casefold() not in {known.casefold() for known in accepted}:
                    accepted.append(answer)
            named.append(_Answer(text, label, weight >= 0.9999 and bool(answer), feedback))
        if not accepted:
            self.problem(line, "no answer earns full credit: not imported")
            return None
        return [], accepted, named


def _explanation(general: _Text, named: list[_Answer], line: int) -> list[str]:
    """General feedback, else the right answers' feedback, else a placeholder; then the
    rest of the per-answer feedback, so that none of it is lost."""
    lines = general.lines()
    used: set[int] = set()
    if not lines:
        for index, answer in enumerate(named):
            if answer.correct and answer.feedback:
                used.add(index)
                for part in answer.feedback.lines():
                    if part not in lines:
                        lines.append(part)
    if not lines:
        lines = [PLACEHOLDER.format(line=line)]
    groups: dict[str, list[str]] = {}
    for index, answer in enumerate(named):
        if index not in used and answer.feedback:
            groups.setdefault(answer.feedback.inline(), []).append(f"“{answer.label}”")
    if groups:
        lines.append("Feedback per answer (from GIFT):")
        lines.extend(f"{', '.join(labels)}: {text}" for text, labels in groups.items())
    return lines
