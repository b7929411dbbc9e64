"""The course catalogue in courses/ meets the bar set for it: structure, sources, citations."""

from __future__ import annotations

import re

import pytest

from app.authoring.parse import check_path, read_course
from app.authoring.source import CourseSource, LessonSource, QuizSource
from tests.conftest import ROOT

COURSES = ROOT / "courses"
CATALOGUE = [
    "untoc-essentials",
    "criminalizing-trafficking-in-persons",
    "protecting-victims-of-trafficking",
    "criminalizing-migrant-smuggling",
    "following-the-money",
    "working-across-borders",
]
CITES_AN_ARTICLE = re.compile(r"\bart(icle|s?\.)\s*\d+", re.IGNORECASE)


def load(slug: str) -> CourseSource:
    course, problems = read_course(COURSES / slug, f"courses/{slug}")
    assert problems == [], "\n".join(map(str, problems))
    assert course is not None
    return course


def words(markdown_text: str) -> int:
    return len(markdown_text.split())


def test_the_catalogue_checks_clean_from_the_command_line(app):
    result = app.test_cli_runner().invoke(args=["courses", "check", str(COURSES)])
    assert result.exit_code == 0, result.output
    assert f"{len(CATALOGUE)} course(s) checked, no problems." in result.output


def test_the_catalogue_holds_exactly_the_six_courses():
    courses, problems = check_path(COURSES)
    assert problems == []
    assert sorted(course.slug for course in courses) == sorted(CATALOGUE)


@pytest.fixture(params=CATALOGUE)
def course(request: pytest.FixtureRequest) -> CourseSource:
    return load(request.param)


def test_course_has_three_to_five_teaching_modules_and_a_final_assessment(course):
    *teaching, final = course.modules
    assert 3 <= len(teaching) <= 5, course.slug
    assert final.slug == "final-assessment"
    [assessment] = final.items
    assert isinstance(assessment, QuizSource)
    assert 15 <= len(assessment.questions) <= 20
    assert assessment.pass_mark == 80


def test_every_module_has_two_to_four_lessons_and_ends_with_a_quiz(course):
    for module in course.modules[:-1]:
        lessons = [item for item in module.items if isinstance(item, LessonSource)]
        quizzes = [item for item in module.items if isinstance(item, QuizSource)]
        assert 2 <= len(lessons) <= 4, f"{course.slug}/{module.slug}"
        assert len(quizzes) == 1 and module.items[-1] is quizzes[0]
        assert 6 <= len(quizzes[0].questions) <= 10, f"{course.slug}/{module.slug}"


def test_every_lesson_is_500_to_1000_words_and_lists_its_sources(course):
    for module in course.modules:
        for lesson in (item for item in module.items if isinstance(item, LessonSource)):
            assert 500 <= words(lesson.body) <= 1000, (lesson.path, words(lesson.body))
            assert lesson.sources, lesson.path
            assert "## What your national law needs" in lesson.body, lesson.path
            assert "## Summary" in lesson.body, lesson.path


def test_every_question_cites_an_article_and_names_what_it_tests(course):
    for quiz in quizzes_of(course):
        for question in quiz.questions:
            where = f"{quiz.path}:{question.line}"
            assert CITES_AN_ARTICLE.search(question.explanation), where
            assert question.provisions, where


def test_every_quiz_mixes_all_four_kinds_of_question(course):
    for quiz in quizzes_of(course):
        kinds = {question.kind for question in quiz.questions}
        assert kinds == {"single", "multiple", "true_false", "short"}, quiz.path


def test_no_quiz_asks_the_same_question_twice(course):
    for quiz in quizzes_of(course):
        stems = [" ".join(question.stem.lower().split()) for question in quiz.questions]
        assert len(stems) == len(set(stems)), quiz.path


def test_every_question_has_exactly_the_correct_choices_its_kind_implies(course):
    for quiz in quizzes_of(course):
        for question in quiz.questions:
            correct = sum(choice.correct for choice in question.choices)
            where = f"{quiz.path}:{question.line}"
            if question.kind in ("single", "true_false"):
                assert correct == 1 and len(question.choices) >= 2, where
                assert not question.answers, where
            elif question.kind == "multiple":
                assert 2 <= correct < len(question.choices), where
            else:
                assert question.kind == "short" and question.answers, where
                assert not question.choices, where
            if question.kind == "true_false":
                assert sorted(c.text for c in question.choices) == ["False", "True"], where


def test_the_overview_names_its_policy_guide_and_says_the_guides_do_not_bind(course):
    overview = course.overview.lower()
    assert "policy guide" in overview, course.slug
    assert "non-binding" in overview, course.slug
    assert "bind" in overview.replace("non-binding", ""), course.slug


def quizzes_of(course: CourseSource) -> list[QuizSource]:
    return [
        item for module in course.modules for item in module.items if isinstance(item, QuizSource)
    ]
