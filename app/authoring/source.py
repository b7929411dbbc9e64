"""What a course folder says, as parsed: plain data, no database, no HTML."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a course source, reported as `file:line: message`."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


@dataclass
class ChoiceSource:
    text: str
    correct: bool
    line: int


@dataclass
class QuestionSource:
    stem: str
    line: int
    details: str = ""
    choices: list[ChoiceSource] = field(default_factory=list)
    answers: list[str] = field(default_factory=list)
    explanation: str = ""
    provisions: list[str] = field(default_factory=list)
    kind: str = ""


@dataclass
class LessonSource:
    slug: str
    path: str
    title: str
    minutes: int
    sources: list[str]
    body: str
    body_line: int

    kind = "lesson"


@dataclass
class QuizSource:
    slug: str
    path: str
    title: str
    pass_mark: int
    intro: str
    body_line: int
    questions: list[QuestionSource]
    attempts: int | None = None
    shuffle: bool = False
    time_limit: int | None = None
    draw: int | None = None
    partial_credit: bool = False
    minutes: int | None = None

    kind = "quiz"


ItemSource = LessonSource | QuizSource


@dataclass
class ModuleSource:
    slug: str
    path: str
    title: str
    intro: str
    items: list[ItemSource] = field(default_factory=list)


@dataclass
class CourseSource:
    slug: str
    title: str
    summary: str
    language: str
    level: str
    minutes: int
    overview: str
    tags: list[str] = field(default_factory=list)
    certificate: bool = True
    is_open: bool = False
    validity_months: int | None = None
    modules: list[ModuleSource] = field(default_factory=list)
    # Every text file of the folder, by path relative to it, exactly as read (for export).
    files: dict[str, str] = field(default_factory=dict)
    # Images under media/, as the author's bytes.
    media: dict[str, bytes] = field(default_factory=dict)

    def item_key(self, module: ModuleSource, item: ItemSource) -> str:
        return f"{module.slug}/{item.slug}"
