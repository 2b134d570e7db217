"""Scenario 2 of issue 11: an author enrols a class from the course page.

Pastes user ids and directory emails (with an unknown address, a line that is neither, and a
learner given twice), reads the preview, confirms, and finds the enrollments listed by name. Every
page reached is screenshotted and must fit 1366 px (scenario 4).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, look

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _count(live_admin, table: str, course_id) -> int:
    """Rows of `table` for the course in the server's own database (what the confirmation stored)."""
    connection = live_admin.server.connect()
    placeholder = "?" if live_admin.server.database_url.startswith("sqlite") else "%s"
    try:
        cursor = connection.cursor()
        # SQLite keeps a UUID as 32 hex digits; PostgreSQL reads that form as a uuid too.
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE course_id = {placeholder}", [course_id.hex])
        return cursor.fetchone()[0]
    finally:
        connection.close()


def _summary(page, outcome: str):
    return page.locator(f"#bulk-summary .bulk-count-{outcome}")


def test_author_enrols_a_class_by_ids_and_emails(page, live_admin):
    world = live_admin.world
    ada, grace, katherine, alan = world.learners_a
    course = world.course_a
    login(page, live_admin, world.author_a.username, world.author_a.password)

    page.goto(f"/admin/courses/course/{course.id}/change/")
    page.locator("#enrol-class-link").click()
    expect(page.locator("#bulk-course")).to_have_text(course.title)
    look(page, "2-enrol-class")

    pasted = [
        str(ada.user_id),             # an id
        grace.email,                  # a directory email
        katherine.email.upper(),      # an email as someone typed it
        "nobody@northwind.example",   # no such learner in the directory
        "not-an-id-nor-an-email",
        ada.email,                    # Ada again, by email
    ]  # fmt: skip
    page.fill("#id_entries", "\n".join(pasted))
    page.click("#bulk-preview")

    preview = page.locator("#bulk-preview-table")
    expect(preview).to_be_visible()
    expect(_summary(page, "new")).to_have_text("3")
    expect(_summary(page, "existing")).to_have_text("0")
    expect(_summary(page, "duplicate")).to_have_text("1")
    expect(_summary(page, "unknown")).to_have_text("1")
    expect(_summary(page, "invalid")).to_have_text("1")
    for learner in (ada, grace, katherine):
        expect(preview.locator("tr.bulk-new")).to_contain_text([learner.name])
    expect(preview.locator("tr.bulk-unknown")).to_contain_text("nobody@northwind.example")
    expect(preview.locator("tr.bulk-invalid")).to_contain_text("not-an-id-nor-an-email")
    expect(preview).not_to_contain_text(alan.name)
    look(page, "2-enrol-class-preview")
    assert _count(live_admin, "enrollment_enrollment", course.id) == 0  # nothing before the confirmation

    page.click("#bulk-confirm")
    result = page.locator("#bulk-result-table")
    expect(result).to_be_visible()
    expect(_summary(page, "new")).to_have_text("3")
    expect(result.locator("tr.bulk-new")).to_have_count(3)
    look(page, "2-enrol-class-result")
    assert _count(live_admin, "enrollment_enrollment", course.id) == 3
    assert _count(live_admin, "tracking_coursetrack", course.id) == 3  # each with its course track

    page.click("#bulk-see-enrollments")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    for learner in (ada, grace, katherine):
        expect(page.locator("#result_list")).to_contain_text(learner.name)
        expect(page.locator("#result_list")).to_contain_text(learner.email)
    expect(page.locator("#result_list")).not_to_contain_text(alan.name)
    look(page, "2-enrollments-with-names")

    # Found by name, as an author would look someone up.
    page.fill("#searchbar", "Grace")
    page.press("#searchbar", "Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(grace.name)
    look(page, "2-enrollments-search-by-name")

    # The same class again: nobody new, and nothing to confirm.
    page.goto(f"/admin/courses/course/{course.id}/change/")
    page.locator("#enrol-class-link").click()
    page.fill("#id_entries", f"{ada.user_id}\n{grace.email}")
    page.click("#bulk-preview")
    expect(_summary(page, "existing")).to_have_text("2")
    expect(_summary(page, "new")).to_have_text("0")
    expect(page.locator("#bulk-confirm")).to_have_count(0)
    look(page, "2-enrol-class-again")
