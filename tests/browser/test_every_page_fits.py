"""Scenario 4 of issue 11, beyond the pages the other scenarios walk through: every list and form
tenant A's author reaches from the admin index, and the page of the first row of each list, fits
1366x768 with no sideways scrolling (and answers 200). Screenshots of each land beside the others'.

It runs after the authoring and enrolment scenarios in this package, so the lists hold courses
with images, enrollments and tracks; alone it sees the seeded world only.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import login, look

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _name(href: str) -> str:
    return "4" + href.removeprefix("/admin").split("?")[0].replace("/", "-").rstrip("-")


def test_every_admin_page_of_an_author_fits_the_screen(page, live_admin):
    author = live_admin.world.author_a
    login(page, live_admin, author.username, author.password)
    links = page.locator("#content-main .app-list a, #content-main .module table a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    pages = sorted({href for href in links if href and href.startswith("/admin/")})
    assert len(pages) >= 10, pages  # the lists and add forms of the four apps and the directory

    for href in pages:
        response = page.goto(href)
        assert response.status == 200, f"{href} answered {response.status}"
        look(page, _name(href))
        first_row = page.locator("#result_list tbody tr:first-child a[href*='/change/']").first
        if href.endswith("/add/") or not first_row.count():
            continue
        row_href = first_row.get_attribute("href")
        response = page.goto(row_href)
        assert response.status == 200, f"{row_href} answered {response.status}"
        look(page, _name(href) + "-first-row")
