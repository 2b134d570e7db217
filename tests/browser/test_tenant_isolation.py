"""Scenario 3 of issue 11: an author of tenant B sees nothing of tenant A in the admin.

Not in the course list, not by typing a tenant A course's URL (404, as for a course that does not
exist), and no tenant A name in any list filter, choice or list anywhere on the pages their index
links to. Every page reached is screenshotted and must fit 1366 px (scenario 4).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, look

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def _tenant_a_words(world) -> list[str]:
    """What would betray tenant A: its name, its course, its learners' names and addresses."""
    return [
        world.tenant_a.name, str(world.tenant_a.pk), world.course_a.title, str(world.course_a.id),
        *(learner.name for learner in world.learners_a), *(learner.email for learner in world.learners_a),
    ]


def _assert_nothing_of_tenant_a(page, world) -> None:
    html = page.content()
    leaked = [word for word in _tenant_a_words(world) if word in html]
    assert not leaked, f"{page.url} shows tenant A's {leaked}"


def _index_links(page) -> list[str]:
    """Every change list and add page the admin index offers this user."""
    hrefs = page.locator("#content-main .app-list a, #content-main .module table a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    )
    return sorted({href for href in hrefs if href and href.startswith("/admin/")})


def test_author_of_tenant_b_sees_nothing_of_tenant_a(page, live_admin):
    world = live_admin.world
    author = world.author_b
    login(page, live_admin, author.username, author.password)
    look(page, "3-index")

    page.goto("/admin/courses/course/")
    results = page.locator("#result_list")
    expect(results).to_contain_text(world.course_b.title)
    expect(results).not_to_contain_text(world.course_a.title)
    # Filters name no other tenant (and, for a user of one tenant, offer no tenant at all).
    expect(page.locator("#changelist-filter")).not_to_contain_text(world.tenant_a.name)
    _assert_nothing_of_tenant_a(page, world)
    look(page, "3-course-list")

    # A guessed URL answers as for a course that does not exist.
    response = page.goto(f"/admin/courses/course/{world.course_a.id}/change/")
    assert response.status == 404
    _assert_nothing_of_tenant_a(page, world)
    shot_name = "3-course-of-tenant-a-by-url"
    look(page, shot_name)
    response = page.goto(f"/admin/courses/course/{world.course_b.id}/change/")
    assert response.status == 200
    expect(page.locator("#id_title")).to_have_value(world.course_b.title)

    # The module form offers tenant B's courses only.
    page.goto("/admin/courses/module/add/")
    choices = page.locator("#id_course option").all_inner_texts()
    assert world.course_b.title in choices and world.course_a.title not in choices
    look(page, "3-module-add")

    # Every list and form the index links to: no tenant A row, filter entry or choice.
    page.goto("/admin/")
    links = _index_links(page)
    assert "/admin/courses/course/" in links and "/admin/enrollment/enrollment/" in links
    for href in links:
        response = page.goto(href)
        assert response.status == 200, f"{href} answered {response.status}"
        _assert_nothing_of_tenant_a(page, world)
        look(page, "3-page" + href.removeprefix("/admin").replace("/", "-").rstrip("-"))
