"""The checker reports every authoring problem with its file and line, and nothing else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.authoring.parse import check_path, read_course
from tests.conftest import FIXTURE_COURSES


def problems_of(folder: Path) -> list[str]:
    course, problems = read_course(folder)
    assert (course is None) == bool(problems)
    return [str(problem) for problem in problems]


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_sample_course_has_no_problem():
    courses, problems = check_path(FIXTURE_COURSES)
    assert problems == []
    assert [course.slug for course in courses] == ["format-tour"]
    kinds = {
        question.kind
        for module in courses[0].modules
        for item in module.items
        if item.kind == "quiz"
        for question in item.questions
    }
    assert kinds == {"single", "multiple", "true_false", "short"}


def test_missing_required_front_matter_key(course_folder: Path):
    lesson = course_folder / "01-basics" / "01-front-matter.md"
    replace_in(lesson, "minutes: 5\n", "")
    assert problems_of(course_folder) == [
        f"{lesson}:1: front matter is missing the required key 'minutes'"
    ]


def test_unknown_front_matter_key_is_reported_on_its_line(course_folder: Path):
    lesson = course_folder / "01-basics" / "01-front-matter.md"
    replace_in(lesson, "minutes: 5\n", "minutes: 5\nauthour: Someone\n")
    [problem] = problems_of(course_folder)
    assert problem.startswith(f"{lesson}:4: unknown front-matter key 'authour'")


def test_question_without_a_correct_choice(course_folder: Path):
    quiz = course_folder / "01-basics" / "03-check.md"
    replace_in(
        quiz, "- [x] The act, the means and the purpose", "- [ ] The act, the means and the purpose"
    )
    assert problems_of(course_folder) == [
        f"{quiz}:13: no correct choice: mark the right ones with '- [x]'"
    ]


def test_question_without_choices_or_answers(course_folder: Path):
    quiz = course_folder / "01-basics" / "03-check.md"
    replace_in(quiz, "= three\n= 3\n", "")
    [problem] = problems_of(course_folder)
    assert problem == f"{quiz}:42: no choices and no accepted answers ('- [x] ...' or '= ...')"


def test_two_items_with_the_same_slug_in_one_module(course_folder: Path):
    module = course_folder / "01-basics"
    (module / "04-check.md").write_bytes((module / "03-check.md").read_bytes())
    [problem] = problems_of(course_folder)
    assert (
        problem
        == f"{module / '04-check.md'}:1: slug 'check' is used twice here (also by 03-check.md)"
    )


def test_link_to_a_lesson_that_does_not_exist(course_folder: Path):
    lesson = course_folder / "01-basics" / "02-links-and-code.md"
    replace_in(lesson, "../02-practice/01-scenario.md", "../02-practice/09-missing.md")
    assert problems_of(course_folder) == [
        f"{lesson}:8: link ../02-practice/09-missing.md: no such lesson or quiz in this course"
    ]


def test_pass_mark_outside_0_to_100(course_folder: Path):
    quiz = course_folder / "01-basics" / "03-check.md"
    replace_in(quiz, "pass_mark: 70", "pass_mark: 120")
    assert problems_of(course_folder) == [
        f"{quiz}:4: pass_mark must be at least 0 and at most 100, not 120"
    ]


def test_file_that_is_not_utf8(course_folder: Path):
    lesson = course_folder / "02-practice" / "01-scenario.md"
    lesson.write_bytes(lesson.read_bytes().replace(b"privacy", b"priv\xe9cy"))
    assert problems_of(course_folder) == [f"{lesson}:11: is not UTF-8 text (byte 0xe9)"]


def test_binary_file_among_the_lessons(course_folder: Path):
    picture = course_folder / "02-practice" / "03-picture.md"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert problems_of(course_folder) == [f"{picture}:1: is a binary file, not UTF-8 text"]


def test_malformed_front_matter(course_folder: Path):
    module = course_folder / "02-practice" / "module.md"
    module.write_text("---\ntitle: [unclosed\n---\n", encoding="utf-8")
    [problem] = problems_of(course_folder)
    assert problem.startswith(f"{module}:2: front matter is not valid YAML")


def test_front_matter_that_is_never_closed(course_folder: Path):
    module = course_folder / "02-practice" / "module.md"
    module.write_text("---\ntitle: Practice\n", encoding="utf-8")
    assert problems_of(course_folder) == [f"{module}:1: front matter is not closed by a '---' line"]


def test_every_problem_is_reported_at_once(course_folder: Path):
    replace_in(course_folder / "01-basics" / "03-check.md", "pass_mark: 70", "pass_mark: -1")
    replace_in(course_folder / "course.md", "level: introductory", "level: expert")
    (course_folder / "notes.txt").write_text("stray", encoding="utf-8")
    assert len(problems_of(course_folder)) == 3


def test_question_rules(course_folder: Path):
    quiz = course_folder / "02-practice" / "02-timed.md"
    quiz.write_text(
        "---\ntype: quiz\ntitle: Rules\npass_mark: 50\n---\n\n"
        "## Only one choice\n\n- [x] Alone\n\n> Art. 1.\n\n"
        "## Both kinds\n\n- [x] A\n- [ ] B\n= a\n\n> Art. 1.\n\n"
        "## No explanation\n\n- [x] A\n- [ ] B\n\n"
        "## Bad provision\n\n- [x] A\n- [ ] B\n\n> Art. 1.\n\ntests: Protocol 3\n\n"
        "## only one choice\n\n- [x] C\n- [ ] D\n\n> Art. 2.\n",
        encoding="utf-8",
    )
    problems = problems_of(course_folder)
    assert f"{quiz}:7: a question with choices needs at least two" in problems
    assert f"{quiz}:13: a question has either choices or accepted answers, not both" in problems
    assert f"{quiz}:21: no explanation: add a '>' blockquote after the answer" in problems
    assert any(p.startswith(f"{quiz}:33: tests: entry 'Protocol 3'") for p in problems)
    assert f"{quiz}:35: the same question is asked twice (first on line 7)" in problems


def test_lesson_headings_start_at_level_two(course_folder: Path):
    lesson = course_folder / "02-practice" / "01-scenario.md"
    replace_in(lesson, "## The case", "# The case")
    assert problems_of(course_folder) == [
        f"{lesson}:8: headings start at '## ': the title is the page's '# '"
    ]


def test_check_command_prints_file_line_messages_and_exits_1(app, course_folder: Path):
    replace_in(course_folder / "01-basics" / "03-check.md", "pass_mark: 70", "pass_mark: 101")
    result = app.test_cli_runner().invoke(args=["courses", "check", str(course_folder.parent)])
    assert result.exit_code == 1
    assert f"{course_folder}/01-basics/03-check.md:4: pass_mark" in result.output


def test_check_command_exits_0_on_a_good_course(app):
    result = app.test_cli_runner().invoke(args=["courses", "check", str(FIXTURE_COURSES)])
    assert result.exit_code == 0, result.output
    assert "1 course(s) checked, no problems." in result.output


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(alphabet=st.sampled_from(list("#-[]xX=> \n:tesabc01()")), max_size=300))
def test_any_quiz_body_gives_problems_never_a_crash(course_folder: Path, body: str):
    quiz = course_folder / "02-practice" / "02-timed.md"
    quiz.write_text("---\ntype: quiz\ntitle: Fuzz\npass_mark: 50\n---\n" + body, encoding="utf-8")
    course, problems = read_course(course_folder)
    assert course is not None or problems
    for problem in problems:
        assert problem.line >= 1
