"""Enrollment endpoints (spec "User Enrollment"; DECISIONS §2, §4). Thin: parse, call, shape."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from courses.api.rendering import image_url_builder
from enrollment import selectors, services
from enrollment.api import rendering
from enrollment.api.serializers import (
    EnrollmentConflictSerializer,
    EnrollmentCreateInputSerializer,
    EnrollmentDeleteQuerySerializer,
    EnrollmentHasProgressSerializer,
    EnrollmentListOutputSerializer,
    EnrollmentListQuerySerializer,
    EnrollmentOutputSerializer,
    EnrollmentUpdateInputSerializer,
)
from enrollment.models import Enrollment
from lms.api.errors import ApiError, ForbiddenError
from lms.api.pagination import PageQuerySerializer, page_from_request
from lms.api.permissions import listed_user_id
from lms.api.schema import EnvelopeAutoSchema
from lms.api.views import TenantScopedViewSet, json_parsers

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
        query = EnrollmentListQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        user_id = listed_user_id(request.user, query.validated_data.get("user_id"))
        page = page_from_request(request)
        count, rows = selectors.enrollment_page(
            tenant_id=self.tenant_id,
            user_id=user_id,
            course_id=query.validated_data.get("course_id"),
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
