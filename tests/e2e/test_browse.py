"""A reader browses the catalogue, a course, a lesson and a quiz in a real Chromium."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(live_server) -> str:
    return live_server.url


def test_a_reader_browses_catalogue_course_lesson_and_quiz(page, server, assert_accessible):
    page.goto(f"{server}/")
    assert page.locator("h1").count() == 1
    assert_accessible(page)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Courses").click()
    page.wait_for_url(f"{server}/courses")
    assert page.locator("h1").inner_text() == "Courses"
    assert_accessible(page)

    page.get_by_role("link", name="A tour of the course format").click()
    page.wait_for_url(f"{server}/courses/format-tour")
    assert_accessible(page)

    page.get_by_role("link", name="Start the course").click()
    page.wait_for_url(f"{server}/courses/format-tour/basics/front-matter")
    assert page.locator("h1").inner_text() == "Front matter and headings"
    assert page.get_by_role("navigation", name="Breadcrumb").is_visible()
    assert_accessible(page)

    page.get_by_role("link", name="Next Links and code").click()
    page.get_by_role("link", name="Next Check the basics").click()
    page.wait_for_url(f"{server}/courses/format-tour/basics/check")
    assert page.locator(".question").count() == 4
    content = page.content().lower()
    assert "correct" not in content
    assert_accessible(page)


def test_the_skip_link_is_the_first_thing_the_keyboard_reaches(page, server):
    page.goto(f"{server}/courses")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused.strip() == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_every_catalogue_course_page_is_accessible(page, server, assert_accessible):
    page.goto(f"{server}/courses")
    links = page.locator(".card-title a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert hrefs
    for href in hrefs:
        page.goto(f"{server}{href}")
        assert_accessible(page)
        first = page.get_by_role("link", name="Start the course")
        first.click()
        assert_accessible(page)


def test_unknown_page_shows_a_friendly_404(page, server, assert_accessible):
    response = page.goto(f"{server}/courses/no-such-course")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    assert_accessible(page)
