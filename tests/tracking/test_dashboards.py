"""The insight dashboards in the admin (issue 13): the same numbers as the report API, charts
drawn as SVG, tenant scoping by membership, the learners table and the learner page."""

from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from django.contrib.auth import get_user_model

from lms.models import TenantMembership
from tests.tracking.insight_world import build_world
from tracking.insight import course_report
from tracking.models import CourseTrack
from tracking.services import course_track_override

pytestmark = pytest.mark.django_db


@pytest.fixture
def superuser_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)
    return client


def member_client(client, tenant):
    user = get_user_model().objects.create_user("member", "m@example.org", "pw", is_staff=True)
    TenantMembership.objects.create(tenant=tenant, user=user)
    client.force_login(user)
    return client


def course_url(course) -> str:
    return f"/admin/insight/courses/{course.id}/"


def figure(html: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}"><div class="value">([^<]*)<', html)
    assert match, name
    return match.group(1)


class TestCourseDashboard:
    def test_it_shows_the_reports_numbers_and_svg_charts(self, superuser_client, tenant):
        world = build_world(tenant)

        response = superuser_client.get(course_url(world.course))

        assert response.status_code == 200
        html = response.content.decode()
        report = course_report(tenant_id=tenant.id, course_id=world.course.id).as_result()
        assert figure(html, "enrolled") == str(report["enrolled"]) == "4"
        assert figure(html, "completed") == str(report["byStatus"]["completed"])
        assert figure(html, "in_progress") == str(report["byStatus"]["in_progress"])
        assert figure(html, "completionRate") == f"{report['completionRate']}%"
        assert figure(html, "certificatesIssued") == "1"
        charts = re.findall(r'<svg class="insight-chart"[^>]*data-points="(\d+)"', html)
        # weekly (12 weeks × 2), funnel (4 lessons × 2), one histogram of the quiz (10 bins)
        assert [int(points) for points in charts] == [24, 8, 10]
        assert "https://" not in html.split("<svg", 1)[1]  # nothing fetched from elsewhere
        assert html.count('class="learner"') == 4 and "Ada Lovelace" in html

    def test_the_learners_table_sorts_and_pages(self, superuser_client, tenant, settings):
        world = build_world(tenant, extra_idle=30)

        by_progress = superuser_client.get(course_url(world.course)).content.decode()
        ascending = superuser_client.get(course_url(world.course), {"o": "progress"}).content.decode()
        last_page = superuser_client.get(course_url(world.course), {"o": "-progress", "page": 2}).content.decode()

        first_rows = re.findall(r'class="learner" data-user-id="([^"]+)"', by_progress)
        assert len(first_rows) == 25 and first_rows[0] in {str(world.finished), str(world.failing)}
        assert re.findall(r'class="learner" data-user-id="([^"]+)"', ascending)[0] not in {
            str(world.finished), str(world.failing), str(world.halfway)}
        assert len(re.findall(r'class="learner"', last_page)) == 34 - 25
        assert "Page 2 of 2 (34 learners)" in last_page
        unknown_order = superuser_client.get(course_url(world.course), {"o": "password"})
        assert unknown_order.status_code == 200

    def test_the_csv_download_is_the_reports_csv(self, superuser_client, tenant):
        world = build_world(tenant)

        response = superuser_client.get(course_url(world.course), {"format": "csv"})

        rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
        assert {row["userId"] for row in rows} == {str(user_id) for user_id in world.learners}

    def test_a_member_of_another_tenant_gets_404(self, client, tenant, other_tenant):
        world = build_world(tenant)
        track = CourseTrack.objects.get(user_id=world.finished)
        outsider = member_client(client, other_tenant)

        assert outsider.get(course_url(world.course)).status_code == 404
        assert outsider.get(f"/admin/insight/tracks/{track.id}/").status_code == 404
        assert tenant.name not in outsider.get("/admin/insight/").content.decode()

    def test_a_member_of_the_tenant_sees_it(self, client, tenant):
        world = build_world(tenant)
        assert member_client(client, tenant).get(course_url(world.course)).status_code == 200

    def test_anonymous_is_sent_to_the_login(self, client, tenant):
        world = build_world(tenant)
        response = client.get(course_url(world.course))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]

    def test_an_unknown_course_is_404(self, superuser_client):
        assert superuser_client.get(f"/admin/insight/courses/{uuid.uuid4()}/").status_code == 404

    def test_query_count_is_constant(self, superuser_client, tenant, django_assert_max_num_queries):
        small, large = build_world(tenant), build_world(tenant, extra_idle=40)
        for world in (small, large):
            # session, user, membership-free superuser: the report's 5 (course with its tenant's
            # policy, lessons in order on the first read of the content version, enrollment/track/
            # certificate/weekly counts, lesson progress, best scores), course with tenant, page
            # count, page of tracks, directory of the page
            with django_assert_max_num_queries(11):
                assert superuser_client.get(course_url(world.course)).status_code == 200

    def test_the_course_page_links_its_dashboard(self, superuser_client, tenant):
        world = build_world(tenant)
        page = superuser_client.get(f"/admin/courses/course/{world.course.id}/change/").content.decode()
        assert course_url(world.course) in page
        listing = superuser_client.get("/admin/courses/course/").content.decode()
        assert "/admin/insight/" in listing


class TestLearnerPage:
    @pytest.mark.drift_expected("a staff override records a history entry that no recount derives")
    def test_lessons_attempts_explain_certificate_and_overrides(self, superuser_client, tenant):
        world = build_world(tenant)
        track = CourseTrack.objects.get(user_id=world.failing)
        course_track_override(tenant_id=tenant.id, track_id=track.id, changed_by=uuid.uuid4(),
                              changes={"status": "in_progress"})

        html = superuser_client.get(f"/admin/insight/tracks/{track.id}/").content.decode()

        assert html.count('class="lesson-row"') == 4
        assert "Quiz 2: best score 40 under &#x27;highest&#x27;, passing is 60." in html
        assert "#1 completed, 40" in html
        assert "No staff override" not in html and "in_progress" in html

    def test_a_certified_learner_links_the_verification(self, superuser_client, tenant):
        world = build_world(tenant)
        track = CourseTrack.objects.get(user_id=world.finished)
        html = superuser_client.get(f"/admin/insight/tracks/{track.id}/").content.decode()
        assert f"/certificates/verify/{track.certificate.token}" in html and "Ada Lovelace" in html


class TestOverview:
    def test_the_admin_index_shows_each_tenants_week(self, superuser_client, tenant):
        build_world(tenant)

        html = superuser_client.get("/admin/").content.decode()

        assert 'id="insight-index"' in html and tenant.name in html
        assert re.search(r'data-figure="active-learners"><div class="value">3<', html)
        assert re.search(r'data-figure="completions"><div class="value">2<', html)

    def test_an_apps_page_lists_its_models_without_the_overview(self, superuser_client, tenant):
        build_world(tenant)

        html = superuser_client.get("/admin/courses/").content.decode()

        assert "/admin/courses/course/" in html
        assert 'id="insight-index"' not in html and 'data-figure="active-learners"' not in html

    def test_stuck_courses_are_listed(self, superuser_client, tenant):
        import datetime as dt

        from django.utils import timezone

        world = build_world(tenant)
        CourseTrack.objects.filter(user_id=world.halfway).update(
            last_accessed_date=timezone.now() - dt.timedelta(days=20))

        html = superuser_client.get("/admin/insight/").content.decode()

        assert f'{world.course.title}</a>: 1' in html


class TestOverviewOfManyTenants:
    """`tracking.overview.tenant_overview_list` answers for many tenants in a fixed number of
    queries, each tenant with the numbers it has when asked for alone."""

    @staticmethod
    def stuck_world(tenant):
        import datetime as dt

        from django.utils import timezone

        world = build_world(tenant)
        CourseTrack.objects.filter(user_id=world.halfway).update(
            last_accessed_date=timezone.now() - dt.timedelta(days=20))
        return world

    def test_each_tenant_has_the_single_tenant_numbers(self, tenant, other_tenant):
        from tests.factories import TenantFactory
        from tracking.overview import tenant_overview_list

        def tenant_overview(*, tenant, **limits):
            return tenant_overview_list(tenants=[tenant], **limits)[0]

        self.stuck_world(tenant)
        build_world(tenant)
        build_world(other_tenant)
        empty = TenantFactory()

        overviews = tenant_overview_list(tenants=[tenant, other_tenant, empty], stuck_limit=1, course_limit=1)

        assert [overview.tenant for overview in overviews] == [tenant, other_tenant, empty]
        for overview in overviews:
            alone = tenant_overview(tenant=overview.tenant, stuck_limit=1)
            assert overview.active_learners_this_week == alone.active_learners_this_week
            assert overview.completions_this_week == alone.completions_this_week
            assert overview.stuck_courses == alone.stuck_courses
            assert overview.courses == alone.courses[:1]
        # three active learners in each world, but the stuck world's halfway learner was last seen 20 days ago
        assert overviews[0].active_learners_this_week == 3 + 2 and len(overviews[0].stuck_courses) == 1
        assert overviews[2].active_learners_this_week == 0 and overviews[2].courses == []

    def test_all_courses_come_without_a_limit_under_theirs(self, tenant):
        from tracking.overview import tenant_overview_list

        for _ in range(3):
            self.stuck_world(tenant)

        [overview] = tenant_overview_list(tenants=[tenant])

        from courses.models import Course

        titles = sorted(Course.objects.filter(tenant=tenant).values_list("title", flat=True))
        assert [row["title"] for row in overview.courses] == titles and len(overview.courses) == 3
        assert sorted(row["course__title"] for row in overview.stuck_courses) == titles
        assert [row["stuck"] for row in overview.stuck_courses] == [1, 1, 1]
        assert tenant_overview_list(tenants=[tenant], with_courses=False)[0].courses == []

    @pytest.mark.parametrize("url", ["/admin/", "/admin/insight/"])
    def test_the_pages_cost_the_same_for_one_tenant_and_five(
        self, superuser_client, tenant, url, django_assert_num_queries
    ):
        from tests.factories import TenantFactory

        self.stuck_world(tenant)
        # session, user, tenants by name, then for all of them together: learners active this week,
        # completions this week, stuck courses; and the index's recent actions (the admin log) or the
        # insight page's courses
        expected = 7
        with django_assert_num_queries(expected):
            one = superuser_client.get(url)
        for _ in range(4):
            self.stuck_world(TenantFactory())
        with django_assert_num_queries(expected):
            five = superuser_client.get(url)

        assert one.status_code == five.status_code == 200
        assert one.content.decode().count('class="module insight-overview"') == 1
        assert five.content.decode().count('class="module insight-overview"') == 5
        assert five.content.decode().count(": 1</li>") == 5  # each tenant's stuck course
