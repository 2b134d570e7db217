"""Enrollment endpoints (spec "User Enrollment"; DECISIONS §2, §4). Thin: parse, call, shape."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses.api.rendering import image_url_builder
from enrollment import selectors, services
from enrollment.api import rendering
from enrollment.api.serializers import (
    EnrollmentBulkInputSerializer,
    EnrollmentBulkOutputSerializer,
    EnrollmentConflictSerializer,
    EnrollmentCreateInputSerializer,
    EnrollmentDeleteQuerySerializer,
    EnrollmentHasProgressSerializer,
    EnrollmentListOutputSerializer,
    EnrollmentListQuerySerializer,
    EnrollmentOutputSerializer,
    EnrollmentUpdateInputSerializer,
    bulk_user_ids,
)
from enrollment.models import Enrollment
from lms.api.errors import ApiError, ForbiddenError
from lms.api.pagination import PageQuerySerializer, page_from_request
from lms.api.permissions import listed_user_id
from lms.api.query import validated_query
from lms.api.schema import EnvelopeAutoSchema
from lms.api.views import TenantScopedAPIView, TenantScopedViewSet, json_parsers

_UPDATABLE = (
    "end_time", "unlimited_plan", "before_expiry_mail", "after_expiry_mail", "params", "active",
    "course_id", "user_id", "state",
)  # fmt: skip


_STAFF_MUST_NAME_THE_USER = "Admins and instructors must name the user to enroll; send their id as user_id."


def _enrolled_user_id(principal, user_id: uuid.UUID | None) -> uuid.UUID:
    """The user to enroll: the one named, or the caller for a learner enrolling themselves (DECISIONS §8).

    Staff leaving it out is a 400, not an enrollment of the staff account: an admin's token
    names the admin, who is almost never the learner meant.
    """
    if user_id is not None:
        return user_id
    if principal.is_staff_role:
        raise ApiError(
            f"user_id: {_STAFF_MUST_NAME_THE_USER}",
            code="ERR_VALIDATION",
            result={"errors": {"user_id": [_STAFF_MUST_NAME_THE_USER]}},
        )
    return principal.user_id


class EnrollmentSchema(EnvelopeAutoSchema):
    def _is_list_view(self, serializer=None):
        # GET /enrollments answers one object, {count, enrollments}, not a bare array.
        return False


class EnrollmentViewSet(TenantScopedViewSet):
    parser_classes = json_parsers()
    queryset = Enrollment.objects.all()
    schema = EnrollmentSchema()
    api_ids = {
        "create": "api.enrollment.create",
        "list": "api.enrollment.list",
        "update": "api.enrollment.update",
        "destroy": "api.enrollment.delete",
    }

    def scope_queryset(self, queryset):
        # A learner's view of the table is their own rows: others' enrollments answer 404.
        if not self.request.user.is_staff_role:
            queryset = queryset.filter(user_id=self.request.user.user_id)
        return queryset

    @extend_schema(
        request=EnrollmentCreateInputSerializer,
        responses={
            201: EnrollmentOutputSerializer,
            409: OpenApiResponse(EnrollmentConflictSerializer, description="Already enrolled; `result.id` is that enrollment."),
        },
        summary="Enroll a user in a course",
    )
    def create(self, request):
        body = EnrollmentCreateInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data["user_id"] = _enrolled_user_id(request.user, data.get("user_id"))
        enrollment = services.enrollment_enroll(
            tenant_id=self.tenant_id,
            enrolled_by=request.user.user_id,
            by_staff=request.user.is_staff_role,
            **data,
        )
        return Response(EnrollmentOutputSerializer(enrollment).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[EnrollmentListQuerySerializer, PageQuerySerializer],
        responses=EnrollmentListOutputSerializer,
        operation_id="enrollments_list",
        summary="List enrollments with their course details",
    )
    def list(self, request):
        # Validated once per distinct query string (lms.api.query), not by a serializer built per request.
        query = validated_query(EnrollmentListQuerySerializer, request.query_params)
        user_id = listed_user_id(request.user, query.get("user_id"))
        page = page_from_request(request)
        count, rows = selectors.enrollment_page(
            tenant_id=self.tenant_id,
            user_id=user_id,
            course_id=query.get("course_id"),
            offset=page.offset,
            limit=page.limit,
        )
        image_url = image_url_builder(request)
        return Response(
            {"count": count, "enrollments": [rendering.enrollment_with_course_data(row, image_url) for row in rows]}
        )

    @extend_schema(
        request=EnrollmentUpdateInputSerializer,
        responses=EnrollmentOutputSerializer,
        summary="Update an enrollment (admin/instructor)",
    )
    def update(self, request, pk=None):
        if not request.user.is_staff_role:
            raise ForbiddenError(
                "Only admins and instructors may update enrollments; a learner may DELETE their own to leave.",
            )
        enrollment = self.get_object()
        body = EnrollmentUpdateInputSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        changes = {name: value for name, value in body.validated_data.items() if name in _UPDATABLE}
        enrollment = services.enrollment_update(enrollment=enrollment, updated_by=request.user.user_id, **changes)
        return Response(EnrollmentOutputSerializer(enrollment).data)

    @extend_schema(
        parameters=[EnrollmentDeleteQuerySerializer],
        responses={
            200: OpenApiResponse(description="Deactivated (or erased with hard=true); `result` is null."),
            409: OpenApiResponse(
                EnrollmentHasProgressSerializer, description="hard=true on an enrollment with progress; deactivate it instead."
            ),
        },
        summary="Deactivate an enrollment (or erase one that never started)",
    )
    def destroy(self, request, pk=None):
        query = EnrollmentDeleteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        hard = query.validated_data["hard"]
        if hard and not request.user.is_staff_role:
            raise ForbiddenError("Only admins and instructors may erase enrollments; leave out hard=true to leave.")
        enrollment = self.get_object()
        if hard:
            services.enrollment_hard_delete(enrollment=enrollment)
        else:
            services.enrollment_deactivate(enrollment_ids=[enrollment.pk], deactivated_by=request.user.user_id)
        return Response(None)


_BULK_EXAMPLE_USER = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
_BULK_EXAMPLE_EXISTING = "9b2e4c1a-7d0f-4e5a-8c3b-2f1d6a7e8b90"


class EnrollmentBulkView(TenantScopedAPIView):
    """Enroll a class: many users in one course (and batch) in one call, in one transaction."""

    parser_classes = json_parsers()
    api_id = "api.enrollment.bulk"

    @extend_schema(
        request=EnrollmentBulkInputSerializer,
        responses={200: EnrollmentBulkOutputSerializer},
        summary="Enroll many users in a course (admin/instructor)",
        description=(
            "Enrolls each listed user in the course and batch (the course's own batch when `batch_id` is left "
            "out), with a course track each, in one transaction and a constant number of queries. The answer "
            "sorts every entry: `created` (enrolled now), `existing` (already enrolled there, left unchanged) and "
            "`invalid` (not a UUID string; its index and a reason). A user named twice counts once. At most "
            "1,000 entries per call (400 beyond). Concurrent calls naming the same users enroll each once."
        ),
        examples=[
            OpenApiExample(
                "Enroll three entries",
                request_only=True,
                value={
                    "course_id": "0b7a2c3e-1f4d-4a5b-9c6d-7e8f9a0b1c2d",
                    "user_ids": [_BULK_EXAMPLE_USER, _BULK_EXAMPLE_EXISTING, "alice@example.org"],
                },
            ),
            OpenApiExample(
                "One created, one existing, one invalid",
                response_only=True,
                status_codes=["200"],
                value={
                    "id": "api.enrollment.bulk",
                    "ver": "1.0",
                    "ts": "2026-12-03T09:00:00Z",
                    "params": {
                        "resmsgid": "5d3c9a1e-2b4f-4c6d-8e7f-9a0b1c2d3e4f",
                        "status": "successful",
                        "err": None,
                        "errmsg": None,
                    },
                    "responseCode": 200,
                    "result": {
                        "created": [{"user_id": _BULK_EXAMPLE_USER, "id": "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f"}],
                        "existing": [
                            {"user_id": _BULK_EXAMPLE_EXISTING, "id": "e5f6a7b8-c9d0-4e1f-a2b3-c4d5e6f7a8b9"}
                        ],
                        "invalid": [
                            {
                                "index": 2,
                                "value": "alice@example.org",
                                "reason": "Not a UUID; a user id looks like 3fa85f64-5717-4562-b3fc-2c963f66afa6.",
                            }
                        ],
                    },
                },
            ),
        ],
    )
    def post(self, request):
        if not request.user.is_staff_role:
            raise ForbiddenError(
                "Only admins and instructors may enroll users in bulk; a learner enrolls with POST /enrollments."
            )
        body = EnrollmentBulkInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user_ids, invalid = bulk_user_ids(body.validated_data["user_ids"])
        course = selectors.course_for_enrollment(tenant_id=self.tenant_id, course_id=body.validated_data["course_id"])
        result = services.enrollments_bulk_create(
            tenant_id=self.tenant_id,
            course=course,
            user_ids=user_ids,
            enrolled_by=request.user.user_id,
            batch_id=body.validated_data.get("batch_id"),
        )
        created = {enrollment.user_id: enrollment.pk for enrollment in result.created}
        listed = list(dict.fromkeys(user_ids))
        return Response(
            {
                "created": [{"user_id": user_id, "id": created[user_id]} for user_id in listed if user_id in created],
                "existing": [
                    {"user_id": user_id, "id": result.existing[user_id]} for user_id in listed if user_id in result.existing
                ],
                "invalid": invalid,
            }
        )
