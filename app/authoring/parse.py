"""Read a course folder into CourseSource, collecting every problem with its file and line.

Nothing here touches the database or renders HTML; `check_course` is what
`flask courses check` runs, and the importer runs the same function before it writes.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from app.authoring.media import MediaRefused, check_image
from app.authoring.source import (
    ChoiceSource,
    CourseSource,
    ItemSource,
    LessonSource,
    ModuleSource,
    Problem,
    QuestionSource,
    QuizSource,
)

MAX_FILE_BYTES = 1024 * 1024
MEDIA_FOLDER = "media"
NAME_PATTERN = re.compile(r"^(?P<number>\d+)-(?P<slug>[a-z0-9]+(?:-[a-z0-9]+)*)$")
LEVELS = ("introductory", "intermediate", "advanced")
SCORING = ("all-or-nothing", "partial")
PROVISION_PATTERN = re.compile(r"^(UNTOC|TIP|SOM|FAP) art\. \d+[a-z]?(\([a-z0-9]+\))*$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")

CHOICE_LINE = re.compile(r"^ {0,3}[-*+] \[(?P<mark>[ xX])\] (?P<text>.*)$")
FENCE_LINE = re.compile(r"^ {0,3}(```|~~~)")
HEADING_LINE = re.compile(r"^ {0,3}(?P<hashes>#{1,6})(\s|$)")
INLINE_LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(\s*<?(?P<target>[^)\s>]+)")
IMAGE_LINK = re.compile(r"!\[(?P<alt>[^\]\n]*)\]\(\s*<?(?P<target>[^)\s>]+)")
REFERENCE_LINK = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*<?(?P<target>\S+?)>?(\s|$)")
URL_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


# --- front matter -----------------------------------------------------------------------

Validator = Callable[[Any], tuple[Any, str | None]]


def _text(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        text = str(value).strip()
        if text:
            return text, None
    return None, "must be non-empty text"


def _whole_number(minimum: int, maximum: int | None = None) -> Validator:
    def validate(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, bool) or not isinstance(value, int):
            return None, "must be a whole number"
        if value < minimum or (maximum is not None and value > maximum):
            upper = f" and at most {maximum}" if maximum is not None else ""
            return None, f"must be at least {minimum}{upper}, not {value}"
        return value, None

    return validate


def _boolean(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, bool):
        return value, None
    return None, "must be true or false"


def _one_of(options: tuple[str, ...]) -> Validator:
    def validate(value: Any) -> tuple[Any, str | None]:
        if value in options:
            return value, None
        return None, f"must be one of {', '.join(options)}, not {value!r}"

    return validate


def _language(value: Any) -> tuple[Any, str | None]:
    if isinstance(value, str) and LANGUAGE_PATTERN.match(value):
        return value, None
    return None, f"must be a language tag such as en or th, not {value!r}"


def _list_of_text(*, required: bool) -> Validator:
    def validate(value: Any) -> tuple[Any, str | None]:
        if not isinstance(value, list) or not all(
            isinstance(entry, str) and entry.strip() for entry in value
        ):
            return None, "must be a list of text entries"
        if required and not value:
            return None, "must list at least one entry"
        return [entry.strip() for entry in value], None

    return validate


def _quiz_type(value: Any) -> tuple[Any, str | None]:
    return (value, None) if value == "quiz" else (None, "must be quiz in a quiz file")


def _lesson_type(value: Any) -> tuple[Any, str | None]:
    return (value, None) if value == "lesson" else (None, "must be lesson or quiz")


Schema = dict[str, tuple[bool, Validator]]

COURSE_SCHEMA: Schema = {
    "title": (True, _text),
    "summary": (True, _text),
    "language": (True, _language),
    "level": (True, _one_of(LEVELS)),
    "minutes": (True, _whole_number(1)),
    "tags": (False, _list_of_text(required=False)),
    "certificate": (False, _boolean),
    "open": (False, _boolean),
    "validity_months": (False, _whole_number(1, 240)),
}
MODULE_SCHEMA: Schema = {"title": (True, _text)}
LESSON_SCHEMA: Schema = {
    "title": (True, _text),
    "minutes": (True, _whole_number(1)),
    "sources": (True, _list_of_text(required=True)),
    "type": (False, _lesson_type),
}
QUIZ_SCHEMA: Schema = {
    "type": (True, _quiz_type),
    "title": (True, _text),
    "pass_mark": (True, _whole_number(0, 100)),
    "attempts": (False, _whole_number(1)),
    "shuffle": (False, _boolean),
    "time_limit": (False, _whole_number(1)),
    "draw": (False, _whole_number(1)),
    "scoring": (False, _one_of(SCORING)),
    "minutes": (False, _whole_number(1)),
}


@dataclass
class CourseTree:
    """A course folder's files as bytes, by relative path, wherever they come from
    (a folder on disk, a zip upload, a draft in the database)."""

    files: dict[str, bytes] = field(default_factory=dict)
    # Entries refused before reading, with the reason (a symbolic link, a special file).
    irregular: dict[str, str] = field(default_factory=dict)

    def names_in(self, folder: str) -> tuple[list[str], list[str]]:
        """(files, subfolders) directly inside `folder` ("" is the root), sorted."""
        prefix = f"{folder}/" if folder else ""
        files, folders = set(), set()
        for path in list(self.files) + list(self.irregular):
            if not path.startswith(prefix):
                continue
            rest = path[len(prefix) :]
            head, _, tail = rest.partition("/")
            (folders if tail else files).add(head)
        return sorted(files), sorted(folders)


def tree_from_folder(folder: Path) -> CourseTree:
    """Every regular file under the folder; hidden entries are skipped, links refused."""
    tree = CourseTree()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in rel.split("/")):
            continue
        if path.is_symlink():
            tree.irregular[rel] = "is a symbolic link; course files must be regular files"
        elif path.is_file():
            tree.files[rel] = path.read_bytes()
        elif not path.is_dir():
            tree.irregular[rel] = "is not a regular file"
    return tree


class SourceFileReader:
    """Reads the files of one course and records problems against them."""

    def __init__(self, tree: CourseTree, display_root: str) -> None:
        self.tree = tree
        self.display_root = display_root
        self.problems: list[Problem] = []
        self.files: dict[str, str] = {}
        self.media: dict[str, bytes] = {}

    def problem(self, rel: str, line: int, message: str) -> None:
        shown = posixpath.join(self.display_root, rel) if rel else self.display_root
        self.problems.append(Problem(shown, line, message))

    def read(self, rel: str) -> str | None:
        """The file's text, or None (with a problem) if it is too large, binary or not UTF-8."""
        if rel in self.tree.irregular:
            self.problem(rel, 1, self.tree.irregular[rel])
            return None
        data = self.tree.files[rel]
        if len(data) > MAX_FILE_BYTES:
            self.problem(rel, 1, f"is {len(data):,} bytes; a course file may be at most 1 MiB")
            return None
        if b"\x00" in data:
            self.problem(rel, 1, "is a binary file, not UTF-8 text")
            return None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            self.problem(rel, line, f"is not UTF-8 text (byte 0x{data[error.start]:02x})")
            return None
        self.files[rel] = text
        return text

    def read_media(self, rel: str) -> None:
        if rel in self.tree.irregular:
            self.problem(rel, 1, self.tree.irregular[rel])
            return
        try:
            check_image(posixpath.basename(rel), self.tree.files[rel])
        except MediaRefused as refused:
            self.problem(rel, 1, str(refused))
        else:
            self.media[rel] = self.tree.files[rel]

    def front_matter(
        self, rel: str, text: str, schema: Schema
    ) -> tuple[dict[str, Any] | None, str, int]:
        """Validated front-matter values, the body, and the body's first line number."""
        text = text.removeprefix("\ufeff")
        lines = text.splitlines()
        if not lines or lines[0].strip() != "---":
            self.problem(rel, 1, "must start with front matter between two '---' lines")
            return None, text, 1
        try:
            end = next(i for i in range(1, len(lines)) if lines[i].strip() in ("---", "..."))
        except StopIteration:
            self.problem(rel, 1, "front matter is not closed by a '---' line")
            return None, "", len(lines) + 1
        raw = "\n".join(lines[1:end])
        body = "\n".join(lines[end + 1 :])
        body_line = end + 2
        try:
            node = yaml.compose(raw, Loader=yaml.SafeLoader)
            data = yaml.safe_load(raw)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 2 if mark is not None else 2
            problem = getattr(error, "problem", None) or "could not be read"
            self.problem(rel, line, f"front matter is not valid YAML: {problem}")
            return None, body, body_line
        if data is None:
            data, node = {}, None
        if not isinstance(data, dict):
            self.problem(rel, 2, "front matter must be a set of 'key: value' lines")
            return None, body, body_line
        key_lines = {
            key_node.value: key_node.start_mark.line + 2
            for key_node, _ in (node.value if isinstance(node, yaml.MappingNode) else [])
        }
        values: dict[str, Any] = {}
        ok = True
        for key, value in data.items():
            line = key_lines.get(key, 2)
            if key not in schema:
                known = ", ".join(schema)
                self.problem(rel, line, f"unknown front-matter key {key!r} (known: {known})")
                ok = False
                continue
            checked, error_message = schema[key][1](value)
            if error_message:
                self.problem(rel, line, f"{key} {error_message}")
                ok = False
            else:
                values[key] = checked
        for key, (required, _) in schema.items():
            if required and key not in data:
                self.problem(rel, 1, f"front matter is missing the required key {key!r}")
                ok = False
        return (values if ok else None), body, body_line


def body_of(text: str) -> str:
    """The Markdown after the front matter (all of it when there is none)."""
    lines = text.removeprefix("\ufeff").splitlines()
    if not lines or lines[0].strip() != "---":
        return text
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            return "\n".join(lines[index + 1 :])
    return ""


# --- quizzes ----------------------------------------------------------------------------


def _parse_quiz_body(
    reader: SourceFileReader, rel: str, body: str, first_line: int
) -> tuple[str, list[QuestionSource]]:
    intro: list[str] = []
    questions: list[QuestionSource] = []
    current: QuestionSource | None = None
    details: list[str] = []
    explanation: list[str] = []
    part = "stem"  # stem -> answer -> explanation -> tests
    in_fence = False

    def finish() -> None:
        if current is not None:
            current.details = "\n".join(details).strip()
            current.explanation = "\n".join(explanation).strip()
            _check_question(reader, rel, current)
            questions.append(current)

    for offset, line in enumerate(body.splitlines()):
        number = first_line + offset
        if FENCE_LINE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else HEADING_LINE.match(line)
        if heading and len(heading.group("hashes")) == 2:
            finish()
            stem = line.strip()[2:].strip()
            current = QuestionSource(stem=stem, line=number)
            details, explanation, part = [], [], "stem"
            if not stem:
                reader.problem(rel, number, "a question heading needs its text (the stem)")
            continue
        if heading and len(heading.group("hashes")) == 1:
            reader.problem(rel, number, "use '## ' for a question; '# ' is the quiz title's level")
            continue
        if current is None:
            intro.append(line)
            continue
        if in_fence and part == "stem":
            details.append(line)
            continue
        choice = CHOICE_LINE.match(line)
        stripped = line.strip()
        if choice:
            if part not in ("stem", "answer") or current.answers:
                reader.problem(rel, number, "a choice must come before the explanation")
            current.choices.append(
                ChoiceSource(choice.group("text").strip(), choice.group("mark") != " ", number)
            )
            part = "answer"
        elif stripped.startswith("= ") or stripped == "=":
            if part not in ("stem", "answer"):
                reader.problem(rel, number, "an accepted answer must come before the explanation")
            answer = stripped[1:].strip()
            if not answer:
                reader.problem(rel, number, "an accepted answer line '= ' needs the answer")
            else:
                current.answers.append(answer)
            part = "answer"
        elif stripped.startswith(">"):
            if part == "tests":
                reader.problem(rel, number, "the explanation must come before the tests: line")
            if part == "explanation" and explanation and explanation[-1] == "":
                reader.problem(rel, number, "a question has one explanation (one blockquote)")
            explanation.append(stripped[1:].removeprefix(" "))
            part = "explanation"
        elif re.match(r"^tests\s*:", stripped, re.IGNORECASE):
            entries = [entry.strip() for entry in stripped.split(":", 1)[1].split(";")]
            for entry in entries:
                if not PROVISION_PATTERN.match(entry):
                    reader.problem(
                        rel,
                        number,
                        f"tests: entry {entry!r} should read like 'TIP art. 3' or "
                        "'UNTOC art. 34(2)' (instruments: UNTOC, TIP, SOM, FAP)",
                    )
            current.provisions.extend(entry for entry in entries if entry)
            part = "tests"
        elif not stripped:
            if part == "explanation":
                explanation.append("")
            elif part == "stem":
                details.append(line)
        elif part == "stem":
            details.append(line)
        elif part == "answer" and current.choices and line.startswith((" ", "\t")):
            current.choices[-1].text += " " + stripped
        else:
            reader.problem(
                rel,
                number,
                f"unexpected text after the {part}; a question reads: stem, choices or "
                "answers, a '>' explanation, then an optional tests: line",
            )
    finish()
    if not questions:
        reader.problem(rel, first_line, "a quiz needs at least one '## ' question")
    seen: dict[str, int] = {}
    for question in questions:
        normalised = " ".join(question.stem.lower().split())
        if normalised in seen:
            reader.problem(
                rel,
                question.line,
                f"the same question is asked twice (first on line {seen[normalised]})",
            )
        else:
            seen[normalised] = question.line
    return "\n".join(intro).strip(), questions


def _check_question(reader: SourceFileReader, rel: str, question: QuestionSource) -> None:
    line = question.line
    if question.choices and question.answers:
        reader.problem(rel, line, "a question has either choices or accepted answers, not both")
        return
    if question.choices:
        correct = [choice for choice in question.choices if choice.correct]
        texts = [" ".join(choice.text.lower().split()) for choice in question.choices]
        if len(question.choices) < 2:
            reader.problem(rel, line, "a question with choices needs at least two")
        if not correct:
            reader.problem(rel, line, "no correct choice: mark the right ones with '- [x]'")
        if len(set(texts)) != len(texts):
            reader.problem(rel, line, "two choices have the same text")
        if sorted(texts) == ["false", "true"]:
            question.kind = "true_false"
            if len(correct) != 1:
                reader.problem(rel, line, "a true/false question has exactly one correct choice")
        else:
            question.kind = "single" if len(correct) == 1 else "multiple"
    elif question.answers:
        question.kind = "short"
    else:
        reader.problem(rel, line, "no choices and no accepted answers ('- [x] ...' or '= ...')")
    if not question.explanation:
        reader.problem(rel, line, "no explanation: add a '>' blockquote after the answer")


# --- links ------------------------------------------------------------------------------


def link_targets(markdown_text: str) -> list[tuple[int, str, bool, str]]:
    """(line offset, target, is_image, alt text) for every link and image outside code."""
    found: list[tuple[int, str, bool, str]] = []
    in_fence = False
    for offset, line in enumerate(markdown_text.splitlines()):
        if FENCE_LINE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        code_free = re.sub(r"`[^`]*`", "", line)
        for match in IMAGE_LINK.finditer(code_free):
            found.append((offset, match.group("target"), True, match.group("alt")))
        for match in INLINE_LINK.finditer(code_free):
            found.append((offset, match.group("target"), False, ""))
        reference = REFERENCE_LINK.match(code_free)
        if reference and not code_free.lstrip().startswith("[^"):
            found.append((offset, reference.group("target"), False, ""))
    return found


def resolve_link(from_path: str, target: str) -> str | None:
    """The course-relative path a relative .md link points at, or None for other links."""
    if URL_SCHEME.match(target) or target.startswith(("#", "/")):
        return None
    path = target.split("#", 1)[0]
    if not path:
        return None
    return posixpath.normpath(posixpath.join(posixpath.dirname(from_path), path))


def _check_links(
    reader: SourceFileReader,
    rel: str,
    text: str,
    first_line: int,
    items: set[str],
    media: set[str],
) -> None:
    for offset, target, is_image, alt in link_targets(text):
        line = first_line + offset
        lowered = target.lower()
        if is_image:
            if URL_SCHEME.match(target):
                reader.problem(rel, line, f"image {target}: use an image of the course's media/")
            elif resolve_link(rel, target) not in media:
                reader.problem(rel, line, f"image {target}: no such image in media/")
            elif not alt.strip():
                reader.problem(
                    rel, line, f"image {target}: describe it in the [brackets] (alt text)"
                )
            continue
        if lowered.startswith("javascript:") or lowered.startswith("data:"):
            reader.problem(rel, line, f"link {target}: only http, https and mailto links")
            continue
        resolved = resolve_link(rel, target)
        if resolved is None:
            continue
        if not resolved.endswith(".md"):
            reader.problem(rel, line, f"link {target}: link to a lesson or quiz file (.md)")
        elif resolved not in items:
            reader.problem(rel, line, f"link {target}: no such lesson or quiz in this course")


# --- the folder -------------------------------------------------------------------------


def _numbered_entries(
    reader: SourceFileReader, folder_rel: str, names: list[str], *, suffix: str
) -> list[tuple[int, str, str]]:
    """(number, slug, name) of well-named entries, sorted; problems for the others."""
    entries: list[tuple[int, str, str]] = []
    for name in names:
        stem = name[: -len(suffix)] if suffix and name.endswith(suffix) else name
        match = NAME_PATTERN.match(stem) if (not suffix or name.endswith(suffix)) else None
        rel = posixpath.join(folder_rel, name) if folder_rel else name
        if not match:
            what = "a lesson or quiz file" if suffix else "a module folder"
            reader.problem(
                rel,
                1,
                f"{name!r} is not {what}: names read NN-slug{suffix} "
                "(digits, a hyphen, then lowercase letters, digits and hyphens)",
            )
            continue
        entries.append((int(match.group("number")), match.group("slug"), name))
    entries.sort()
    seen: dict[str, str] = {}
    for _, slug, name in entries:
        if slug in seen:
            rel = posixpath.join(folder_rel, name) if folder_rel else name
            reader.problem(rel, 1, f"slug {slug!r} is used twice here (also by {seen[slug]})")
        seen.setdefault(slug, name)
    return entries


def _read_item(reader: SourceFileReader, rel: str, slug: str) -> ItemSource | None:
    text = reader.read(rel)
    if text is None:
        return None
    head = text.removeprefix("\ufeff").splitlines()[:40]
    is_quiz = any(re.match(r"^type\s*:\s*['\"]?quiz['\"]?\s*$", line) for line in head)
    if is_quiz:
        values, body, body_line = reader.front_matter(rel, text, QUIZ_SCHEMA)
        intro, questions = _parse_quiz_body(reader, rel, body, body_line)
        if values is None:
            return None
        draw = values.get("draw")
        if draw is not None and draw > len(questions):
            reader.problem(rel, 1, f"draw is {draw} but the quiz has {len(questions)} questions")
        return QuizSource(
            slug=slug,
            path=rel,
            title=values["title"],
            pass_mark=values["pass_mark"],
            intro=intro,
            body_line=body_line,
            questions=questions,
            attempts=values.get("attempts"),
            shuffle=values.get("shuffle", False),
            time_limit=values.get("time_limit"),
            draw=draw,
            partial_credit=values.get("scoring") == "partial",
            minutes=values.get("minutes"),
        )
    values, body, body_line = reader.front_matter(rel, text, LESSON_SCHEMA)
    _check_body_headings(reader, rel, body, body_line)
    if values is None:
        return None
    return LessonSource(
        slug=slug,
        path=rel,
        title=values["title"],
        minutes=values["minutes"],
        sources=values["sources"],
        body=body,
        body_line=body_line,
    )


def _check_body_headings(reader: SourceFileReader, rel: str, body: str, first_line: int) -> None:
    in_fence = False
    for offset, line in enumerate(body.splitlines()):
        if FENCE_LINE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else HEADING_LINE.match(line)
        if heading and len(heading.group("hashes")) == 1:
            reader.problem(
                rel, first_line + offset, "headings start at '## ': the title is the page's '# '"
            )


def read_course(
    folder: Path, display: str | None = None
) -> tuple[CourseSource | None, list[Problem]]:
    """Parse and check one course folder on disk."""
    return read_course_tree(
        folder.name, tree_from_folder(folder), display if display is not None else str(folder)
    )


def read_course_tree(
    slug: str, tree: CourseTree, display: str
) -> tuple[CourseSource | None, list[Problem]]:
    """Parse and check one course. The course is None when any problem was found."""
    reader = SourceFileReader(tree, display)
    if not NAME_PATTERN.match(f"0-{slug}"):
        reader.problem("", 1, f"folder name {slug!r} is not a slug (lowercase letters, digits, -)")
    if "course.md" not in tree.files and "course.md" not in tree.irregular:
        reader.problem("course.md", 1, "missing: a course folder starts with course.md")
        return None, reader.problems

    course_text = reader.read("course.md")
    course_values, overview, overview_line = (
        reader.front_matter("course.md", course_text, COURSE_SCHEMA)
        if course_text is not None
        else (None, "", 1)
    )
    _check_body_headings(reader, "course.md", overview, overview_line)

    root_files, root_folders = tree.names_in("")
    module_names = []
    for name in root_files:
        if name != "course.md":
            reader.problem(name, 1, "unexpected file: a course holds course.md and module folders")
    for name in root_folders:
        if name == MEDIA_FOLDER:
            _read_media_folder(reader, tree)
        else:
            module_names.append(name)

    modules: list[ModuleSource] = []
    # Every well-named item file, parsed or not: a broken lesson is still a link target.
    item_paths: set[str] = set()
    bodies: list[tuple[str, str, int]] = [("course.md", overview, overview_line)]
    for _, module_slug, module_name in _numbered_entries(reader, "", module_names, suffix=""):
        module_values = None
        intro, intro_line = "", 1
        files, folders = tree.names_in(module_name)
        if "module.md" in files:
            rel = f"{module_name}/module.md"
            text = reader.read(rel)
            if text is not None:
                module_values, intro, intro_line = reader.front_matter(rel, text, MODULE_SCHEMA)
                _check_body_headings(reader, rel, intro, intro_line)
                bodies.append((rel, intro, intro_line))
        else:
            reader.problem(f"{module_name}/module.md", 1, "missing: every module has a module.md")
        item_names = []
        for name in folders:
            reader.problem(
                f"{module_name}/{name}",
                1,
                "unexpected folder: a module holds module.md and .md lessons and quizzes",
            )
        for name in files:
            if name == "module.md":
                continue
            rel = f"{module_name}/{name}"
            if rel in tree.irregular or not name.endswith(".md"):
                reader.problem(
                    rel, 1, "unexpected file: a module holds module.md and .md lessons and quizzes"
                )
            else:
                item_names.append(name)
        module = ModuleSource(
            slug=module_slug,
            path=module_name,
            title=module_values["title"] if module_values else "",
            intro=intro,
        )
        numbered = _numbered_entries(reader, module_name, item_names, suffix=".md")
        for _, item_slug, item_name in numbered:
            item_paths.add(f"{module_name}/{item_name}")
            item = _read_item(reader, f"{module_name}/{item_name}", item_slug)
            if item is not None:
                module.items.append(item)
                if isinstance(item, LessonSource):
                    bodies.append((item.path, item.body, item.body_line))
                else:
                    bodies.append((item.path, item.intro, item.body_line))
                    for question in item.questions:
                        bodies.append((item.path, question.details, question.line))
                        bodies.append((item.path, question.explanation, question.line))
        if not numbered:
            reader.problem(
                f"{module_name}/module.md", 1, "a module needs at least one lesson or quiz"
            )
        modules.append(module)

    if not module_names:
        reader.problem("course.md", 1, "a course needs at least one module folder")

    for rel, text, first_line in bodies:
        _check_links(reader, rel, text, first_line, item_paths, set(reader.media))

    if reader.problems or course_values is None:
        return None, sorted(set(reader.problems), key=_problem_order)
    course = CourseSource(
        slug=slug,
        title=course_values["title"],
        summary=course_values["summary"],
        language=course_values["language"],
        level=course_values["level"],
        minutes=course_values["minutes"],
        overview=overview,
        tags=course_values.get("tags", []),
        certificate=course_values.get("certificate", True),
        is_open=course_values.get("open", False),
        validity_months=course_values.get("validity_months"),
        modules=modules,
        files=dict(sorted(reader.files.items())),
        media=dict(sorted(reader.media.items())),
    )
    return course, []


def _read_media_folder(reader: SourceFileReader, tree: CourseTree) -> None:
    files, folders = tree.names_in(MEDIA_FOLDER)
    for name in folders:
        reader.problem(f"{MEDIA_FOLDER}/{name}", 1, "unexpected folder: media holds images only")
    for name in files:
        reader.read_media(f"{MEDIA_FOLDER}/{name}")


def _problem_order(problem: Problem) -> tuple[str, int, str]:
    return (problem.path, problem.line, problem.message)


def find_course_folders(path: Path) -> tuple[list[Path], list[Problem]]:
    """The course folders at `path`: the folder itself if it holds course.md, else its children."""
    if not path.is_dir():
        return [], [Problem(str(path), 1, "no such folder")]
    if (path / "course.md").exists():
        return [path], []
    folders = sorted(
        child for child in path.iterdir() if child.is_dir() and not child.name.startswith(".")
    )
    problems = [
        Problem(str(folder / "course.md"), 1, "missing: a course folder starts with course.md")
        for folder in folders
        if not (folder / "course.md").exists()
    ]
    return [folder for folder in folders if (folder / "course.md").exists()], problems


def check_path(path: Path) -> tuple[list[CourseSource], list[Problem]]:
    """Every course under `path`, and every problem found in any of them."""
    folders, problems = find_course_folders(path)
    courses = []
    for folder in folders:
        course, found = read_course(folder)
        problems.extend(found)
        if course is not None:
            courses.append(course)
    return courses, problems


def items_with_keys(course: CourseSource) -> list[tuple[ModuleSource, ItemSource, str]]:
    return [
        (module, item, course.item_key(module, item))
        for module in course.modules
        for item in module.items
    ]
