"""Scenario 1 of issue 11: an author builds a course in the admin, as they would in Chromium.

Logs in as tenant A's author, creates a course with an image and two modules inline, adds two
lessons and places them, makes the second require the first (chosen by title), publishes the
course and duplicates it. Every page reached is screenshotted and must fit 1366 px (scenario 4).
"""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import login, look

pytestmark = [pytest.mark.browser, pytest.mark.django_db]

COURSE = "Knots and ropes"
MODULES = ("Basic knots", "Splices")
LESSONS = ("Bowline", "Clove hitch")


def _cover_png() -> bytes:
    image = Image.new("RGB", (160, 90), (31, 119, 180))
    image.paste((255, 200, 40), (20, 20, 140, 70))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _saved(page, message: str) -> None:
    expect(page.locator(".messagelist .success")).to_contain_text(message)


def _choose_in_changelist(page, title: str, action: str) -> None:
    """Ticks the row whose title link reads `title` and runs the action with that value."""
    row = page.locator("#result_list tbody tr").filter(has=page.get_by_role("link", name=title, exact=True))
    expect(row).to_have_count(1)
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def _course_row(page, title: str):
    return page.locator("#result_list tbody tr").filter(has=page.get_by_role("link", name=title, exact=True))


def _add_lesson(page, title: str) -> None:
    page.goto("/admin/courses/lesson/add/")
    expect(page.locator("#id_tenant")).to_be_hidden()  # one tenant: no chooser
    page.fill("#id_title", title)
    page.fill("#id_description", f"How to tie a {title.lower()}.")
    page.fill("#id_format", "video")
    page.fill("#id_media_format", "video")
    page.fill("#id_media_sub_format", "video.mp4")
    page.fill("#id_media_source", f"https://example.org/knots/{title.lower().replace(' ', '-')}.mp4")
    page.select_option("#id_status", "published")
    look(page, f"1-lesson-add-{title}")
    page.click("input[name=_save]")
    _saved(page, f"“{title}” was added successfully")


def test_author_builds_publishes_and_duplicates_a_course(page, live_admin):
    author = live_admin.world.author_a
    login(page, live_admin, author.username, author.password)
    look(page, "1-index")

    # --- the course, its image and two modules inline ---
    page.goto("/admin/courses/course/")
    page.get_by_role("link", name=re.compile("Add course", re.I)).click()
    expect(page.locator("#id_tenant")).to_be_hidden()  # one tenant: new courses go to it
    page.fill("#id_title", COURSE)
    page.fill("#id_short_description", "Six knots every sailor ties without looking.")
    page.fill("#id_description", "Tie, dress and check the knots, then splice a rope end.")
    page.set_input_files("#id_image", files=[{"name": "cover.png", "mimeType": "image/png", "buffer": _cover_png()}])
    today = dt.date.today()
    page.fill("#id_start_datetime_0", f"{today:%Y-%m-%d}")
    page.fill("#id_start_datetime_1", "08:00:00")
    page.fill("#id_end_datetime_0", f"{today + dt.timedelta(days=365):%Y-%m-%d}")
    page.fill("#id_end_datetime_1", "18:00:00")
    page.fill("#id_modules-0-title", MODULES[0])
    page.fill("#id_modules-0-description", "Bowline, clove hitch and reef knot.")
    page.locator(".lms-module-inline .add-row a, #modules-group .add-row a").first.click()
    page.fill("#id_modules-1-title", MODULES[1])
    page.fill("#id_modules-1-description", "Eye splice and back splice.")
    look(page, "1-course-add-filled")
    page.click("input[name=_continue]")

    _saved(page, f"“{COURSE}” was added successfully")
    look(page, "1-course-saved")
    preview = page.locator(".field-image_preview img")
    expect(preview).to_be_visible()
    # The stored image is served back, not only referenced.
    assert preview.evaluate("img => img.complete && img.naturalWidth") > 0
    expect(page.locator("#id_modules-0-title")).to_have_value(MODULES[0])
    expect(page.locator("#id_modules-1-title")).to_have_value(MODULES[1])
    assert page.locator("#id_modules-0-ordering").input_value() == "1"
    assert page.locator("#id_modules-1-ordering").input_value() == "2"

    # --- two lessons, placed in the first module ---
    for title in LESSONS:
        _add_lesson(page, title)
    look(page, "1-lesson-list")

    page.goto("/admin/courses/course/")
    page.get_by_role("link", name=COURSE, exact=True).click()
    page.locator("#modules-group tr", has=page.locator(f"input[value='{MODULES[0]}']")).locator(
        "a.inlinechangelink"
    ).click()
    expect(page.locator("#id_title")).to_have_value(MODULES[0])
    page.select_option("#id_placements-0-lesson", label=LESSONS[0])
    page.locator("#placements-group .add-row a").click()
    page.select_option("#id_placements-1-lesson", label=LESSONS[1])
    look(page, "1-module-placements")
    page.click("input[name=_continue]")
    _saved(page, f"“{MODULES[0]}” was changed successfully")
    placed = page.locator("#placements-group tbody tr.has_original")
    expect(placed).to_have_count(2)
    look(page, "1-module-saved")

    # --- the second lesson requires the first, chosen by title ---
    page.goto("/admin/courses/lesson/")
    page.get_by_role("link", name=LESSONS[1], exact=True).click()
    prerequisites = page.locator(".field-prerequisites")
    prerequisites.locator(".select2-selection").click()
    page.locator(".select2-container--open .select2-search__field").fill("bowl")
    option = page.locator(".select2-results__option", has_text=LESSONS[0])
    expect(option).to_have_count(1)
    # The search offers the lessons of the same course only, and never the lesson itself.
    expect(page.locator(".select2-results__option", has_text=LESSONS[1])).to_have_count(0)
    option.click()
    look(page, "1-lesson-prerequisite-chosen")
    page.click("input[name=_continue]")
    _saved(page, f"“{LESSONS[1]}” was changed successfully")
    expect(prerequisites.locator(".select2-selection__choice")).to_contain_text(LESSONS[0])
    look(page, "1-lesson-prerequisite-saved")

    # --- publish, then duplicate ---
    page.goto("/admin/courses/course/")
    expect(_course_row(page, COURSE).locator("td.field-status")).to_have_text("Unpublished")
    _choose_in_changelist(page, COURSE, "publish")
    _saved(page, "Published 1 course")
    expect(_course_row(page, COURSE).locator("td.field-status")).to_have_text("Published")
    look(page, "1-course-published")

    _choose_in_changelist(page, COURSE, "duplicate")
    _saved(page, "Duplicated 1 course")
    copy = _course_row(page, f"{COURSE} (copy)")
    expect(copy.locator("td.field-status")).to_have_text("Unpublished")
    expect(copy.locator("td.field-module_count")).to_have_text("2")
    expect(copy.locator("td.field-lesson_count")).to_have_text("2")
    look(page, "1-course-duplicated")

    copy.get_by_role("link", name=f"{COURSE} (copy)", exact=True).click()
    expect(page.locator("#id_modules-0-title")).to_have_value(MODULES[0])
    expect(page.locator("#id_modules-1-title")).to_have_value(MODULES[1])
    assert page.locator(".field-image_preview img").evaluate("img => img.complete && img.naturalWidth") > 0
    look(page, "1-course-copy")
