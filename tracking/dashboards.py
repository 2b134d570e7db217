"""Insight dashboards in the admin (issue 13): a course dashboard, a learner page per enrollment
and a tenant overview, as staff views under /admin/insight/.

They read the same selectors as the report API (`tracking.insight`), so a dashboard and the API
never disagree, and draw their charts as server-side SVG (`tracking.charts`), so they work
offline. Staff see the tenants they are members of (`TenantMembership`); superusers see all. A
course or track of another tenant is a 404, as in the API.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse

from courses.models import LIVE_STATUSES, Course
from lms.admin_tenancy import admin_tenant_ids
from lms.api.errors import NotFoundError
from lms.models import Tenant, learner_label
from lms.selectors import learner_directory
from tracking import insight
from tracking.charts import PRIMARY, SECONDARY, Series, bar_chart, column_chart
from tracking.models import CourseTrack, LessonAttempt
from tracking.overview import tenant_overview_list
from tracking.selectors import lesson_grades

LEARNERS_PER_PAGE = 25
OVERVIEW_TENANTS = 10  # the index shows the first tenants by name; the overview page links the rest


def _visible_tenants(request):
    tenants = Tenant.objects.order_by("name")
    allowed = admin_tenant_ids(request)
    return tenants if allowed is None else tenants.filter(id__in=allowed)


def _course_or_404(request, course_id) -> Course:
    course = Course.objects.filter(pk=course_id, status__in=LIVE_STATUSES).select_related("tenant").first()
    allowed = admin_tenant_ids(request)
    if course is None or (allowed is not None and course.tenant_id not in allowed):
        raise Http404("No course with that id in your tenants.")
    return course


def _context(request, **extra) -> dict:
    return {**admin.site.each_context(request), **extra}


def _sort_links(request, current: str) -> dict[str, str]:
    """For each sortable column, the query string that sorts by it (toggling the direction)."""
    links = {}
    for key in insight.LEARNER_ORDERINGS:
        query = request.GET.copy()
        query.pop("page", None)
        query["o"] = f"-{key}" if current == key else key
        links[key] = query.urlencode()
    return links


def course_dashboard(request, course_id):
    """The §10 figures as cards, weekly and funnel charts, best-score histograms per marked lesson,
    and the learners table (sortable, paginated, downloadable as the report's CSV)."""
    from tracking.api.insight_views import learner_csv_response

    course = _course_or_404(request, course_id)
    if request.GET.get("format") == "csv":
        return learner_csv_response(tenant_id=course.tenant_id, course_id=course.id)
    report = insight.course_report(tenant_id=course.tenant_id, course_id=course.id)
    order = request.GET.get("o", "-progress")
    if order.lstrip("-") not in insight.LEARNER_ORDERINGS:
        order = "-progress"
    page = Paginator(insight.course_learner_rows(tenant_id=course.tenant_id, course_id=course.id, order=order),
                     LEARNERS_PER_PAGE).get_page(request.GET.get("page"))
    learners = insight.learner_rows_with_directory(tenant_id=course.tenant_id, tracks=page.object_list)
    for row, track in zip(learners, page.object_list, strict=True):
        row["url"] = reverse("insight-learner", args=[track.pk])
        if row["certificateToken"]:
            row["verifyUrl"] = reverse("certificate-verify", kwargs={"token": row["certificateToken"]})

    weeks = report.weekly
    weekly_chart = column_chart(
        title="Enrollments and completions per week",
        categories=[week["weekStart"][5:] for week in weeks],
        series=[Series("Enrolled", [week["enrolled"] for week in weeks], SECONDARY),
                Series("Completed", [week["completed"] for week in weeks], PRIMARY)],
    )
    funnel_chart = bar_chart(
        title="Lesson funnel, in course order",
        categories=[figures.lesson.title for figures in report.lessons],
        series=[Series("Started", [figures.started for figures in report.lessons], SECONDARY),
                Series("Completed", [figures.completed for figures in report.lessons], PRIMARY)],
    ) if report.lessons else None
    histograms = []
    for figures in report.lessons:
        if not figures.lesson.consider_marks:
            continue
        step = figures.score_scale / len(figures.score_bins)
        histograms.append({
            "lesson": figures.lesson, "average": figures.average_best_score,
            "chart": column_chart(
                title=f"Best scores: {figures.lesson.title}",
                categories=[f"{step * i:g}–{step * (i + 1):g}" for i in range(len(figures.score_bins))],
                series=[Series("Learners", figures.score_bins, PRIMARY)], width=420, height=200,
            ),
        })
    return TemplateResponse(request, "admin/insight/course.html", _context(
        request, title=f"Dashboard: {course.title}", course=course, report=report, result=report.as_result(),
        weekly_chart=weekly_chart, funnel_chart=funnel_chart, histograms=histograms, learners=learners,
        page=page, order=order, sort_links=_sort_links(request, order),
        course_admin_url=reverse("admin:courses_course_change", args=[course.pk]),
    ))


def learner_dashboard(request, track_id):
    """One enrollment: each lesson's status, attempts and best score under its policy, the explain
    answer, the certificate and the history of staff overrides."""
    track = CourseTrack.objects.filter(pk=track_id).select_related("course", "enrollment").first()
    allowed = admin_tenant_ids(request)
    if track is None or (allowed is not None and track.tenant_id not in allowed):
        raise Http404("No course track with that id in your tenants.")
    try:
        explanation = insight.course_progress_explain(
            tenant_id=track.tenant_id, course_id=track.course_id, user_id=track.user_id
        )
    except NotFoundError as error:  # an archived course: its dashboards are gone too
        raise Http404(str(error)) from None
    attempts_by_lesson: dict[uuid.UUID, list[LessonAttempt]] = {}
    for attempt in LessonAttempt.objects.filter(
        user_id=track.user_id, tenant_id=track.tenant_id, course_id=track.course_id, batch_id=track.batch_id
    ).order_by("attempt"):
        attempts_by_lesson.setdefault(attempt.lesson_id, []).append(attempt)
    from courses.models import Lesson

    grades = lesson_grades(
        tenant_id=track.tenant_id, user_id=track.user_id, course_id=track.course_id, batch_id=track.batch_id,
        lessons=[Lesson(id=lesson.id, attempts_grade=lesson.attempts_grade, passing_marks=lesson.passing_marks)
                 for lesson in explanation.lessons],
    )
    missing = {entry["lessonId"]: entry["state"] for entry in explanation.missing}
    lessons = []
    for lesson in explanation.lessons:
        if lesson.id in explanation.completed:
            state = missing.get(str(lesson.id), "completed")
        else:
            state = "in_progress" if lesson.id in explanation.started else "not_started"
        lessons.append({
            "lesson": lesson, "state": state, "attempts": attempts_by_lesson.get(lesson.id, []),
            "grade": grades[lesson.id],
        })
    entry = learner_directory(tenant_id=track.tenant_id, user_ids=[track.user_id]).get(track.user_id)
    label = learner_label(user_id=track.user_id, name=entry.name if entry else None,
                          email=entry.email if entry else None)
    certificate = explanation.certificate
    return TemplateResponse(request, "admin/insight/learner.html", _context(
        request, title=f"{label} in {track.course.title}", track=track, learner=label, lessons=lessons,
        explain=explanation.as_result(), certificate=certificate,
        verify_url=reverse("certificate-verify", kwargs={"token": certificate.token}) if certificate else None,
        overrides=list(track.overrides.order_by("-changed_at")),
        course_url=reverse("insight-course", args=[track.course_id]),
    ))


def tenant_overviews(request, limit: int = OVERVIEW_TENANTS, with_courses: bool = False) -> list[dict]:
    """The overview of each tenant the account may see, at most `limit` of them: the tenants, then
    the figures of all of them together (`tracking.overview`), so as many queries for ten as for one."""
    overviews = []
    for overview in tenant_overview_list(tenants=list(_visible_tenants(request)[:limit]), with_courses=with_courses):
        overviews.append({
            "overview": overview,
            "stuck": [{**row, "url": reverse("insight-course", args=[row["course_id"]])}
                      for row in overview.stuck_courses],
            "courses": [{**row, "url": reverse("insight-course", args=[row["id"]])} for row in overview.courses],
        })
    return overviews


def overview(request):
    """Every visible tenant's overview, with its courses linked to their dashboards."""
    return TemplateResponse(request, "admin/insight/overview.html", _context(
        request, title="Insight", overviews=tenant_overviews(request, limit=100, with_courses=True),
    ))


urlpatterns = [
    path("", admin.site.admin_view(overview), name="insight-overview"),
    path("courses/<uuid:course_id>/", admin.site.admin_view(course_dashboard), name="insight-course"),
    path("tracks/<uuid:track_id>/", admin.site.admin_view(learner_dashboard), name="insight-learner"),
]
