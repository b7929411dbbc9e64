"""A GIFT question bank becomes quiz Markdown that the checker accepts, and whatever cannot
come across is reported on its line.

Moodle's own GIFT test files are read in place from shared/interop (never copied into the
project); the files under tests/fixtures/gift are ours and cover the syntax one part at a time.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.authoring.gift import PLACEHOLDER, GiftReport, gift_to_markdown, read_gift_bytes
from app.authoring.parse import read_course
from app.authoring.render import render_inline, render_markdown
from app.authoring.source import QuestionSource, QuizSource
from tests.conftest import FIXTURE_COURSES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "gift"
UNDER_CI = os.environ.get("CI", "").lower() == "true"
# shared/ lies beside the checkout (here and in CI); SHARED_INTEROP points elsewhere.
_SHARED_CANDIDATES = (
    [Path(os.environ["SHARED_INTEROP"])]
    if os.environ.get("SHARED_INTEROP")
    else [ROOT.parent / "shared" / "interop", Path("/work/shared/interop")]
)
SHARED = next((path for path in _SHARED_CANDIDATES if path.is_dir()), None)
QUIZ_FRONT_MATTER = "---\ntype: quiz\ntitle: T\npass_mark: 80\n---\n"

TO_WRITE = "no feedback to use as the explanation"

# Moodle 4.5's fixture with every kind of question (the same file is in gift/ and gift/cases/).
EVERY_KIND = (
    5,
    [
        (2, "essay question ({}): not imported"),
        (5, "matching question (->): not imported"),
        (22, "asks the same as the question on line 14 with other answers: reword one"),
        (31, "numerical question ({#...}): not imported"),
        (36, "answer 'Cat' gave partial credit (50%): dropped"),
        (37, "answer '*' gave no credit (0%): dropped"),
        (41, "missing-word question"),  # Moodle's file has `}";` after the answers
        (46, TO_WRITE),
        (49, "repeats the question on line 46: not imported"),
    ],
)
IN_CATEGORY = (
    3,
    [
        (2, "category '$course$/Default for New Features' noted"),
        (5, "matching question (->): not imported"),
        (22, TO_WRITE),
        (27, TO_WRITE),
    ],
)
WINDOWS_1252 = (
    0,
    [
        (2, "category '$course$/top/Default for LTTEST' noted"),
        (6, "essay question ({}): not imported"),
        (10, "essay question ({}): not imported"),
        (14, "matching question (->): not imported"),
    ],
)
PARTIAL_SHORT_ANSWERS = [
    (5, "answer 'Cat' gave partial credit (50%): dropped"),
    (6, "answer '*' gave no credit (0%): dropped"),
]
# Every file of shared/interop/gift, hand-checked: (questions imported, (line, message) problems).
SHARED_FILES: dict[str, tuple[int, list[tuple[int, str]]]] = {
    "questions.gift.txt": EVERY_KIND,
    "questions_in_category.gift.txt": IN_CATEGORY,
    "questions_encoding_windows-1252.gift.txt": WINDOWS_1252,
    "cases/fixture_questions.gift": EVERY_KIND,
    "cases/fixture_questions_in_category.gift": IN_CATEGORY,
    "cases/fixture_questions_encoding_windows-1252.gift": WINDOWS_1252,
    "cases/import_backslash.gift": (0, [(3, "essay question ({}): not imported")]),
    "cases/import_essay.gift": (0, [(3, "essay question ({}): not imported")]),
    "cases/import_match.gift": (0, [(3, "matching question (->): not imported")]),
    "cases/import_multichoice.gift": (1, []),
    "cases/import_multichoice_multi.gift": (1, []),
    "cases/import_multichoice_multi_tricky.gift": (
        1,
        [(3, "Moodle asks this with checkboxes, but only one choice has a positive weight")],
    ),
    "cases/import_numerical.gift": (0, [(3, "numerical question ({#...}): not imported")]),
    "cases/import_pre_content.gift": (0, [(2, "essay question ({}): not imported")]),
    "cases/import_question_with_tags.gift": (0, [(4, "essay question ({}): not imported")]),
    "cases/import_shortanswer.gift": (1, PARTIAL_SHORT_ANSWERS),
    "cases/import_shortanswer_with_general_feedback.gift": (1, PARTIAL_SHORT_ANSWERS),
    "cases/import_truefalse.gift": (1, []),
    "cases/import_truefalse_true_answer1.gift": (1, [(2, TO_WRITE)]),
    "cases/import_truefalse_true_answer2.gift": (1, [(2, TO_WRITE)]),
}
OUR_FIXTURES = sorted(path.name for path in FIXTURES.glob("*.gift"))


def shared_gift() -> Path:
    if SHARED is None or not (SHARED / "gift").is_dir():
        message = "shared/interop/gift is absent: Moodle's GIFT files are read there, not copied"
        if UNDER_CI:
            pytest.fail(f"{message}; under CI=true these tests must run")
        pytest.skip(message)
    return SHARED / "gift"


def import_shared(name: str) -> GiftReport:
    text, _ = read_gift_bytes((shared_gift() / name).read_bytes())
    assert text is not None
    return gift_to_markdown(text)


def import_fixture(name: str) -> GiftReport:
    text, note = read_gift_bytes((FIXTURES / name).read_bytes())
    assert text is not None and note is None
    return gift_to_markdown(text)


def assert_problems(report: GiftReport, expected: list[tuple[int, str]]) -> None:
    """The problems, in line order, each on its line and saying what is expected."""
    assert [line for line, _ in report.problems] == [line for line, _ in expected], report.problems
    for (line, message), (_, fragment) in zip(report.problems, expected, strict=True):
        assert fragment in message, (line, message)


def check_quiz(markdown: str, folder: Path) -> tuple[list[QuestionSource], list[str]]:
    """The questions the checker reads from the Markdown, as 02-practice/02-timed.md of a
    copy of the sample course, and every problem it reports."""
    course = folder / "format-tour"
    shutil.copytree(FIXTURE_COURSES / "format-tour", course)
    quiz = course / "02-practice" / "02-timed.md"
    quiz.write_text(QUIZ_FRONT_MATTER + markdown, encoding="utf-8")
    source, problems = read_course(course)
    if source is None:
        return [], [str(problem) for problem in problems]
    [practice] = [module for module in source.modules if module.slug == "practice"]
    [item] = [item for item in practice.items if item.slug == "timed"]
    assert isinstance(item, QuizSource)
    return item.questions, []


def questions_of(report: GiftReport, folder: Path) -> list[QuestionSource]:
    questions, problems = check_quiz(report.markdown, folder)
    assert problems == []
    assert len(questions) == report.imported
    return questions


# --- Moodle's own files ---------------------------------------------------------------------


def test_every_shared_file_has_hand_checked_expectations():
    folder = shared_gift()
    present = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
    assert present == set(SHARED_FILES)


@pytest.mark.parametrize("name", sorted(SHARED_FILES))
def test_shared_file_imports_what_it_can_and_reports_the_rest_by_line(name: str):
    imported, expected = SHARED_FILES[name]
    report = import_shared(name)
    assert report.imported == imported
    assert report.markdown.count("\n## ") + report.markdown.startswith("## ") == imported
    assert_problems(report, expected)


@pytest.mark.parametrize("name", sorted(name for name, (count, _) in SHARED_FILES.items() if count))
def test_shared_file_passes_the_checker_but_for_the_stems_it_reported(name: str, tmp_path: Path):
    report = import_shared(name)
    _, problems = check_quiz(report.markdown, tmp_path)
    reworded = [message for _, message in report.problems if "reword one" in message]
    assert len(problems) == len(reworded)
    assert all("the same question is asked twice" in problem for problem in problems)


def test_windows_1252_file_is_read_and_said_to_be(tmp_path: Path):
    data = (shared_gift() / "questions_encoding_windows-1252.gift.txt").read_bytes()
    text, note = read_gift_bytes(data)
    assert text is not None and "<p>aödf<br></p>" in text
    assert note == "is not UTF-8: it was read as Windows-1252; check its accented letters"


def test_moodles_multiple_choice_example(tmp_path: Path):
    report = import_shared("cases/import_multichoice.gift")
    assert report.markdown == (
        "## What's between orange and green in the spectrum?\n"
        "\n"
        "- [x] yellow\n"
        "- [ ] red\n"
        "- [ ] blue\n"
        "\n"
        "> right; good!\n"
        "> Feedback per answer (from GIFT):\n"
        "> “red”, “blue”: wrong, it's yellow\n"
    )


def test_moodles_weighted_example_is_multiple_response(tmp_path: Path):
    [question] = questions_of(import_shared("cases/import_multichoice_multi.gift"), tmp_path)
    assert question.kind == "multiple"
    assert [(choice.text, choice.correct) for choice in question.choices] == [
        ("yellow", True),
        ("red", False),
        ("off-beige", True),
        ("blue", False),
    ]


def test_moodles_general_feedback_is_the_explanation(tmp_path: Path):
    report = import_shared("cases/import_shortanswer_with_general_feedback.gift")
    [question] = questions_of(report, tmp_path)
    assert question.answers == ["Frog"]
    assert question.explanation.splitlines() == [
        "Here is some general feedback!",
        "Feedback per answer (from GIFT):",
        "“Frog”: Good!",
        "“Cat”: What is it with Moodlers and cats?",
        "“\\*”: Completely wrong",
    ]


def test_moodles_html_question_keeps_its_link_and_loses_its_markup(tmp_path: Path):
    questions = questions_of(import_shared("questions_in_category.gift.txt"), tmp_path)
    greeting, user, acronym = questions
    assert greeting.stem == (
        "[Listen to this greeting:](http://demo.moodle.net/file.php/5/media/bonjour.mp3)"
    )
    assert greeting.details == "What language is being spoken?"
    assert [choice.text for choice in greeting.choices if choice.correct] == ["French"]
    assert user.answers == ["Moodler"]
    assert user.explanation == PLACEHOLDER.format(line=22)
    assert acronym.stem == (
        "Moodle is an acronym for Modular Object-Oriented Dynamic Learning Environment."
    )
    assert acronym.kind == "true_false"


def test_moodles_true_false_keeps_both_feedbacks(tmp_path: Path):
    [question] = questions_of(import_shared("cases/import_truefalse.gift"), tmp_path)
    assert question.kind == "true_false"
    assert [(choice.text, choice.correct) for choice in question.choices] == [
        ("True", False),
        ("False", True),
    ]
    assert question.explanation.splitlines() == [
        "You gave the right answer.",
        "Feedback per answer (from GIFT):",
        "“True”: 42 is the Ultimate Answer.",
    ]


# --- our fixtures, one part of the syntax each ---------------------------------------------


@pytest.mark.parametrize("name", OUR_FIXTURES)
def test_our_fixture_passes_the_checker(name: str, tmp_path: Path):
    report = import_fixture(name)
    assert report.imported > 0
    questions_of(report, tmp_path)


def test_a_bank_with_feedback_everywhere_imports_without_a_problem(tmp_path: Path):
    report = import_fixture("escapes.gift")
    assert report.problems == []
    assert report.imported == 4
    questions, problems = check_quiz(report.markdown, tmp_path)
    assert problems == []
    assert len(questions) == 4


def test_comments_ids_tags_and_categories_are_read_and_titles_dropped(tmp_path: Path):
    report = import_fixture("comments-and-categories.gift")
    assert_problems(
        report,
        [
            (3, "category '$course$/top/Definitions' noted: categories map to nothing here"),
            (12, "category '$course$/top/Offences' noted"),
        ],
    )
    assert "//" not in report.markdown and "[id:" not in report.markdown
    assert "Purpose" not in report.markdown and "CATEGORY" not in report.markdown
    purpose, under_category, untitled = questions_of(report, tmp_path)
    assert purpose.stem == "What must the act and the means serve?"
    assert [choice.text for choice in purpose.choices] == ["The purpose of exploitation", "Profit"]
    assert under_category.answers == ["Article 5"]
    assert untitled.stem == "Which question has no title?"


def test_escapes_come_out_as_the_characters_they_stand_for(tmp_path: Path):
    report = import_fixture("escapes.gift")
    signs, backslashes, new_line, short = questions_of(report, tmp_path)
    assert render_inline(signs.stem) == (
        "Which sign is written = in GIFT, and what is 1 ~ 2 # 3 {4} a:b?"
    )
    assert [render_inline(choice.text) for choice in signs.choices] == [
        "an equals sign =",
        "a tilde ~",
        "a hash #",
        "braces { }",
    ]
    assert signs.explanation.splitlines()[0] == "right: = is escaped"
    # \\ is one backslash; a backslash before any other letter stays as it is
    assert render_inline(backslashes.stem) == (
        "A path C:\\Temp\\ and a lone \\ backslash; \\a stays as it is."
    )
    assert [render_inline(choice.text) for choice in backslashes.choices] == [
        "C:\\Temp",
        "D:\\=",
    ]
    assert "\\n" not in report.markdown
    assert (new_line.stem, new_line.details) == ("First line", "Second line")
    assert short.answers == ["a=b", "x{y}#1"]


def test_a_backslash_before_a_structural_character_leaves_it_structural():
    report = gift_to_markdown("Two answers?{=a\\\\=b#both}")
    assert "= a\\\n= b\n" in report.markdown


def test_choices_weights_and_feedback(tmp_path: Path):
    report = import_fixture("choices.gift")
    assert_problems(
        report,
        [
            (29, "the weights of the right choices (70%, 30%) are not equal shares of 100%"),
            (35, "several choices are marked right with '='"),
            (43, "choice 'The Smuggling of Migrants Protocol' gave partial credit (50%)"),
        ],
    )
    questions = questions_of(report, tmp_path)
    kinds = [question.kind for question in questions]
    assert kinds == ["single", "single", "multiple", "multiple", "multiple", "multiple"] + [
        "single",
        "single",
    ]
    single, general, equal, thirds, unequal, two_right, partial, leading = questions
    assert single.explanation.splitlines() == [
        "Art. 3 holds the definition.",
        "Feedback per answer (from GIFT):",
        "“The Smuggling of Migrants Protocol”: It defines smuggling.",
    ]
    assert general.explanation.splitlines()[0] == (
        "Art. 3(c): for a child the means are not needed."
    )
    assert [choice.correct for choice in equal.choices] == [True, True, False]
    assert [choice.correct for choice in thirds.choices] == [True, True, True, False]
    assert [choice.correct for choice in unequal.choices] == [True, True, False]
    assert [choice.correct for choice in two_right.choices] == [True, True, False]
    assert [choice.correct for choice in partial.choices] == [True, False, False]
    # Task-list, heading, quote and list markers at the start of a choice stay text.
    assert [render_inline(choice.text) for choice in leading.choices] == [
        "- [x] not a nested choice",
        "# not a heading",
        "&gt; not a quote",
        "1. not a list",
        "=5 is not an answer line",
        "[x] not a mark",
    ]
    assert [choice.correct for choice in leading.choices] == [True] + [False] * 5


def test_true_false_in_every_spelling(tmp_path: Path):
    report = import_fixture("true-false.gift")
    assert_problems(
        report,
        [
            (8, TO_WRITE),
            (10, "{true} is a short answer, as in Moodle: write {T}, {TRUE}, {F} or {FALSE}"),
        ],
    )
    t, true, f, false, lowercase = questions_of(report, tmp_path)
    for question, right in ((t, "True"), (true, "True"), (f, "False"), (false, "False")):
        assert question.kind == "true_false"
        assert [choice.text for choice in question.choices if choice.correct] == [right]
    assert t.explanation.splitlines() == [
        "Art. 3(b).",
        "Feedback per answer (from GIFT):",
        "“False”: Art. 3(b) says otherwise.",
    ]
    assert true.explanation == "Art. 3(1) and (2)."
    assert f.explanation.startswith("Right: art. 3(a) asks for a benefit, not harm.")
    assert false.explanation == "Explanation to be written (imported from GIFT line 8)."
    assert lowercase.kind == "short" and lowercase.answers == ["true"]


def test_short_answers_keep_full_credit_alternatives_only(tmp_path: Path):
    report = import_fixture("short-answers.gift")
    assert_problems(
        report,
        [
            (12, "answer 'Article 5' gave partial credit (50%): dropped"),
            (13, "answer '*' gave no credit (0%): dropped"),
            (17, "answer '*Protocol': '*' is a wildcard in Moodle"),
            (20, "answer 'Article 3' gave partial credit (50%): dropped"),
            (20, "no answer earns full credit: not imported"),
        ],
    )
    alternatives, bare, partial, wildcard = questions_of(report, tmp_path)
    assert alternatives.answers == ["three", "3", "three persons"]
    assert bare.answers == ["Firearms Protocol"]
    assert partial.answers == ["Article 3"]
    assert "“Article 5”: That is criminalization." in partial.explanation
    assert wildcard.answers == ["*Protocol"]


def test_text_formats_become_safe_markdown(tmp_path: Path):
    report = import_fixture("formats.gift")
    assert_problems(
        report,
        [
            (24, "an image (a flag) was dropped: a course carries its images in media/"),
            (24, "the link to '@@PLUGINFILE@@/notes.pdf' was dropped, its text kept"),
        ],
    )
    html, markdown, plain, moodle, code, dropped = questions_of(report, tmp_path)
    assert html.stem == "Under **article 3** of the *Protocol*, is consent relevant?"
    assert html.details == "Read [the Protocol](https://www.unodc.org/tip) first."
    assert [render_inline(choice.text) for choice in html.choices] == [
        "No, <em>never</em> once a means is used",
        "Yes, &lt;always&gt;",
    ]
    assert html.explanation.splitlines()[0] == "Art. 3(b)."
    assert markdown.stem == "Which *means* are listed in **art. 3(a)**?"
    assert markdown.choices[0].text == "Abuse of a `position` of vulnerability"
    assert render_inline(plain.stem) == "Is &lt;b&gt; a tag here? 2 * 3 = 6 and [x] stays."
    assert (moodle.stem, moodle.details) == ("First line", "**second** line & more")
    assert code.details == '```\nprint("a")\nprint("b")\n```'
    assert render_markdown(code.details).html == '<pre><code>print("a")\nprint("b")\n</code></pre>'
    assert dropped.stem == "Which flag? See notes."


def test_unsupported_kinds_are_reported_on_their_lines(tmp_path: Path):
    report = import_fixture("unsupported.gift")
    assert_problems(
        report,
        [
            (2, "matching question (->): not imported"),
            (7, "numerical question ({#...}): not imported"),
            (9, "numerical question ({#...}): not imported"),
            (11, "essay question ({}): not imported"),
            (13, "essay question ({}): not imported"),
            (15, "text with no answer block {...} (a description): not imported"),
            (18, 'missing-word question: imported with a blank "_____" in the stem'),
        ],
    )
    [missing_word] = questions_of(report, tmp_path)
    assert missing_word.stem == "The Protocol was adopted in _____ in Palermo."
    assert [(choice.text, choice.correct) for choice in missing_word.choices] == [
        ("1998", False),
        ("2000", True),
        ("2004", False),
    ]


def test_syntax_errors_are_reported_on_the_line_of_the_fault(tmp_path: Path):
    report = import_fixture("syntax-errors.gift")
    assert_problems(
        report,
        [
            (2, "syntax error: '{' is not closed by '}' before the next blank line"),
            (5, "syntax error: '}' with no '{' before it"),
            (7, "syntax error: a second answer block or a stray brace"),
            (9, "syntax error: '{' inside an answer block"),
            (11, "the title opened by '::' is not closed by '::': read as text"),
            (13, "a choice question needs at least two choices: not imported"),
            (16, "syntax error: a second answer block or a stray brace"),
            (18, "no choice has a positive weight: not imported"),
        ],
    )
    [title_not_closed] = questions_of(report, tmp_path)
    assert title_not_closed.stem == "Title not closed:Which title?"


def test_a_question_without_feedback_gets_a_placeholder_explanation(tmp_path: Path):
    report = gift_to_markdown("\n\n// first\nIs this a question?{T}\n")
    assert report.problems == [
        (
            4,
            "no feedback to use as the explanation: a placeholder stands in; write the "
            "explanation, citing the article it rests on, before publishing",
        )
    ]
    [question] = questions_of(report, tmp_path)
    assert question.explanation == "Explanation to be written (imported from GIFT line 4)."


def test_a_file_without_questions_says_so():
    assert gift_to_markdown("// only a comment\n\n") == GiftReport(
        "", 0, [(1, "no question found: is this a GIFT file?")]
    )


# --- reading the bytes ----------------------------------------------------------------------


def test_utf8_is_read_with_or_without_a_byte_order_mark():
    assert read_gift_bytes("Ça va?{T}".encode()) == ("Ça va?{T}", None)
    assert read_gift_bytes("\ufeffÇa va?{T}".encode()) == ("Ça va?{T}", None)


def test_windows_1252_is_read_and_said_to_be():
    text, note = read_gift_bytes("Ça coûte 5 €?{T}".encode("cp1252"))
    assert text == "Ça coûte 5 €?{T}"
    assert note is not None and "Windows-1252" in note


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is a binary file, not a GIFT text file"),
        ("Q?{T}".encode("utf-16"), "is UTF-16 text: save it as UTF-8 and try again"),
        (b"caf\x81", "is neither UTF-8 nor Windows-1252 text"),
        (bytes(range(1, 32)) * 4, "is a binary file, not a GIFT text file"),
    ],
)
def test_what_is_not_text_is_refused(data: bytes, reason: str):
    assert read_gift_bytes(data) == (None, reason)


# --- whatever the input ----------------------------------------------------------------------

PIECES = st.sampled_from(
    [*"{}=~#%:\\->[]<>/*_`!|$&;.()\"' \t\n", "\n\n", "::", "//", "####", "\\n", "\\{", "\\="]
    + ["T", "TRUE", "F", "FALSE", "true", "%50%", "%-100%", "%100%", "yes", "no", "art. 3"]
    + ["[html]", "[markdown]", "[plain]", "<b>", "</b>", "<p>", "<pre>", "<a href=x>", "&amp;"]
    + ["1. ", "- [x] ", "> ", "tests: ", "## ", "```", "___", "\u2028", "\x85", "\x00"]
)
SOME_TEXT = st.lists(PIECES, max_size=12).map("".join)
QUESTION = st.builds(
    lambda before, answers, after: f"{before}{{{answers}}}{after}",
    SOME_TEXT,
    st.lists(st.sampled_from(["=", "~", "#", "####", "->"]) | PIECES, max_size=14).map("".join),
    st.sampled_from(["", "", "", " .", "\n"]) | SOME_TEXT,
)
ANY_TEXT = st.one_of(
    st.lists(QUESTION | SOME_TEXT, max_size=6).map("\n\n".join),
    st.text(max_size=200),
)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_any_text_is_imported_or_reported_and_never_raises(text: str):
    report = gift_to_markdown(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").count("\n") + 1
    assert all(1 <= line <= lines for line, _ in report.problems)
    assert report.imported == sum(line.startswith("## ") for line in report.markdown.split("\n"))
    assert report.imported or report.problems


@settings(max_examples=150, deadline=None)
@given(ANY_TEXT)
def test_whatever_is_imported_passes_the_checker(text: str):
    report = gift_to_markdown(text)
    if not report.imported:
        return
    with tempfile.TemporaryDirectory() as folder:
        questions, problems = check_quiz(report.markdown, Path(folder))
    reworded = [message for _, message in report.problems if "reword one" in message]
    assert len(problems) == len(reworded), (report.markdown, problems)
    assert all("the same question is asked twice" in problem for problem in problems)
    if not problems:
        assert len(questions) == report.imported
