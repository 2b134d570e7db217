"""Issue 13: the insight dashboard of a seeded course shows the report's numbers, and its charts
render (server-side SVG with data) at 1366x768."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, look
from tests.browser.insight_world import INSIGHT_COURSE, INSIGHT_FIGURES, INSIGHT_LESSONS

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_the_course_dashboard_shows_the_numbers_and_draws_its_charts(page, live_admin):
    author = live_admin.world.author_a
    login(page, live_admin, author.username, author.password)
    # The admin index carries the tenant's week; its course list links the dashboards.
    expect(page.locator("#insight-index")).to_contain_text(author.tenant_name)
    look(page, "insight-01-index")

    page.goto("/admin/insight/")
    page.get_by_role("link", name=INSIGHT_COURSE).click()
    page.wait_for_url("**/admin/insight/courses/*/")

    for name, value in INSIGHT_FIGURES.items():
        expect(page.locator(f'[data-figure="{name}"] .value')).to_have_text(value)
    charts = page.locator("svg.insight-chart")
    expect(charts).to_have_count(3)  # weekly, lesson funnel, the quiz's best-score histogram
    for index in range(3):
        chart = charts.nth(index)
        assert int(chart.get_attribute("data-points")) > 0
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
        heights = chart.locator("rect.bar").evaluate_all("bars => bars.map(bar => bar.getBBox().height + bar.getBBox().width)")
        assert any(size > 0 for size in heights)
    funnel = page.locator("#funnel-chart svg")
    for title in INSIGHT_LESSONS:
        expect(funnel).to_contain_text(title)
    expect(page.locator("#learners tr.learner")).to_have_count(5)
    look(page, "insight-02-course-dashboard")

    page.locator("#learners tr.learner a").first.click()
    expect(page.locator(".insight-learner")).to_contain_text("Lessons")
    expect(page.locator("tr.lesson-row")).to_have_count(3)
    look(page, "insight-03-learner")
