"""Lesson tracking (attempts) and course tracking endpoints: parse, call one service or selector, shape."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses.api.rendering import image_url_builder, lesson_data
from courses.selectors import lesson_row_for_instance
from lms.api.pagination import PageQuerySerializer, paginate
from lms.api.permissions import IsAuthenticatedPrincipal, IsAuthor, acting_user_id, listed_user_id
from lms.api.query import validated_query
from lms.api.views import TenantScopedViewSet, json_parsers
from tracking import selectors, services
from tracking.api.rendering import attempt_data
from tracking.api.serializers import (
    CourseTrackingListSerializer,
    CourseTrackingQuerySerializer,
    CourseTrackingUpdateInputSerializer,
    CourseTrackSerializer,
    LessonAttemptSerializer,
    LessonTrackingListSerializer,
    LessonTrackingQuerySerializer,
    LessonTrackingStartInputSerializer,
    LessonTrackingUpdateInputSerializer,
)
from tracking.models import CourseTrack, LessonAttempt


def _list_filters(request, query_serializer_class) -> dict:
    """Validated filters; a learner sees only their own rows and naming anyone else is 403."""
    filters = validated_query(query_serializer_class, request.query_params)  # a fresh dict, remembered per query
    filters["user_id"] = listed_user_id(request.user, filters.get("user_id"))
    return filters


class LessonTrackingViewSet(TenantScopedViewSet):
    parser_classes = json_parsers()
    queryset = LessonAttempt.objects.none()
    api_ids = {
        "create": "api.lesson.tracking.start",
        "update": "api.lesson.tracking.update",
        "list": "api.lesson.tracking.list",
    }

    @extend_schema(
        request=LessonTrackingStartInputSerializer,
        responses={
            201: LessonAttemptSerializer,
            200: OpenApiResponse(LessonAttemptSerializer, description="An unfinished attempt resumed."),
            409: OpenApiResponse(description='`action: "resume"` with nothing to resume (ERR_NOTHING_TO_RESUME).'),
        },
        summary="Start or resume a lesson attempt",
        description=(
            "Checks, in order: enrollment (ERR_NOT_ENROLLED), prerequisites (ERR_PREREQUISITES_MISSING, "
            "result.missing_lesson_ids), resume of an unfinished attempt when the lesson has `resume` (200), "
            "attempt limit (ERR_MAX_ATTEMPTS); otherwise creates attempt n+1 (201). `action` changes the resume step "
            "(DECISIONS §11); GET /lessons/tracking/status answers what this would do, from the same decision."
        ),
    )
    def create(self, request):
        data = LessonTrackingStartInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attempt, created = services.lesson_attempt_start(
            tenant_id=self.tenant_id,
            user_id=acting_user_id(request.user, data.validated_data.get("user_id")),
            lesson_id=data.validated_data["lesson_id"],
            course_id=data.validated_data.get("course_id"),
            published_only=not request.user.is_staff_role,
            started_by=request.user.user_id,
            action=data.validated_data.get("action"),
        )
        return Response(attempt_data(attempt), status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        request=LessonTrackingUpdateInputSerializer,
        responses=LessonAttemptSerializer,
        summary="Report progress on a lesson attempt",
        description=(
            "Completes the attempt when status is `completed` or current_position >= total_content > 0, "
            "and then updates the course track. A completed attempt is final (409); time_spent may not go down."
        ),
    )
    def update(self, request, pk=None):
        data = LessonTrackingUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attempt = services.lesson_attempt_update(
            tenant_id=self.tenant_id,
            attempt_id=pk,
            updated_by=request.user.user_id,
            may_update_others=request.user.is_staff_role,
            changes=data.validated_data,
        )
        return Response(attempt_data(attempt))

    @extend_schema(
        parameters=[LessonTrackingQuerySerializer, PageQuerySerializer],
        responses=LessonTrackingListSerializer,
        summary="List lesson attempts",
    )
    def list(self, request):
        filters = _list_filters(request, LessonTrackingQuerySerializer)
        count, attempts = paginate(selectors.lesson_attempt_list(tenant_id=self.tenant_id, **filters), request)
        image_url = image_url_builder(request)
        tracking = [
            {
                **attempt_data(attempt),
                # The catalogue's own lesson shape, shown in the placement the attempt was taken in.
                "lesson": lesson_data(
                    lesson_row_for_instance(
                        attempt.lesson,
                        placement={
                            "course_id": attempt.course_id,
                            "module_id": attempt.placement_module_id,
                            "ordering": attempt.placement_ordering,
                        },
                    ),
                    image_url,
                ),
            }
            for attempt in attempts
        ]
        return Response({"count": count, "tracking": tracking})


class CourseTrackingViewSet(TenantScopedViewSet):
    parser_classes = json_parsers()
    queryset = CourseTrack.objects.none()
    api_ids = {"update": "api.course.tracking.update", "list": "api.course.tracking.list"}

    def get_permissions(self):
        if self.action == "update":
            return [IsAuthor()]
        return [IsAuthenticatedPrincipal()]

    @extend_schema(
        request=CourseTrackingUpdateInputSerializer,
        responses=CourseTrackSerializer,
        summary="Override a course track (admin/instructor)",
        description=(
            "Recorded with who, when, old and new values. The enrollment state follows the status. A later "
            "recount re-derives the counters from the facts but never downgrades a completed status."
        ),
    )
    def update(self, request, pk=None):
        data = CourseTrackingUpdateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        track = services.course_track_override(
            tenant_id=self.tenant_id, track_id=pk, changed_by=request.user.user_id, changes=data.validated_data
        )
        return Response(CourseTrackSerializer(track).data)

    @extend_schema(
        parameters=[CourseTrackingQuerySerializer, PageQuerySerializer],
        responses=CourseTrackingListSerializer,
        summary="List course tracks with course summaries",
    )
    def list(self, request):
        filters = _list_filters(request, CourseTrackingQuerySerializer)
        count, tracks = paginate(selectors.course_track_list(tenant_id=self.tenant_id, **filters), request)
        totals = selectors.course_totals(course_ids=[track.course_id for track in tracks])
        listing = CourseTrackingListSerializer({"count": count, "tracking": tracks}, context={"totals": totals, "request": request})
        return Response(listing.data)
