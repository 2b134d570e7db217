"""Courses, modules and lessons endpoints (lms-service-api.md, DECISIONS §1–§3).

Views parse input, call one service or selector, and shape output with `courses.api.rendering`.
Visibility: authors (admin, instructor) see unpublished and published content; learners only
published; archived content answers 404 to everybody.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpResponseNotModified
from django.utils.http import parse_etags
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from courses import selectors, services
from courses.api import rendering
from courses.api.fields import request_body
from courses.api.filters import CourseFilter, LessonFilter
from courses.api.serializers import (
    CourseDetailsOutputSerializer,
    CourseInputSerializer,
    CourseListOutputSerializer,
    CourseOutputSerializer,
    LessonDetailOutputSerializer,
    LessonInputSerializer,
    LessonOutputSerializer,
    ModuleInputSerializer,
    ModuleOutputSerializer,
    PlacementCreatedOutputSerializer,
    PlacementInputSerializer,
)
from courses.models import Course, Lesson, Module
from lms.api.envelope import pre_rendered_ok
from lms.api.errors import NotFoundError
from lms.api.pagination import paginate
from lms.api.permissions import AuthorWritesAuthenticatedReads, IsAuthor
from lms.api.schema import EnvelopeAutoSchema
from lms.api.views import TenantScopedViewSet, created
from lms.lru import WeightedLRU

PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1."),
    OpenApiParameter("limit", int, description="Items per page (default 20, at most 100)."),
]
ARRAY_PAGE_PARAMETERS = [
    OpenApiParameter("page", int, description="Page number, from 1. The total is in the X-Total-Count header."),
    OpenApiParameter("limit", int, description="Items per page (default 20, at most 100)."),
]
DELETED = {200: OpenApiResponse(description="Archived; `result` is null.")}
# The document spells these two with a capital letter in places; both spellings are read.
COURSE_ALIASES = {"Certificate_term": "certificate_term", "Certificate_id": "certificate_id"}


def _body(serializer_class, request, *, partial: bool = False, aliases: dict | None = None) -> dict:
    serializer = serializer_class(
        data=request_body(request, aliases=aliases),
        partial=partial,
        context={"form_encoded": hasattr(request.data, "getlist")},
    )
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _multipart_or_json(serializer):
    return {"multipart/form-data": serializer, "application/json": serializer}


def _array(rows: list, count: int) -> Response:
    return Response(rows, headers={"X-Total-Count": str(count)})


COURSE_TREE_CACHE_SECONDS = 3600
# Rendered courses and course trees, encoded, by `rendering.representation_key` (course,
# content_version, status, audience, host): immutable under their key. Bounded at 64 MB a
# process, about 150 trees of 20 modules x 20 lessons.
_rendered_bodies: WeightedLRU[bytes] = WeightedLRU(max_weight=64 * 1024 * 1024, weigh=len)

# Conditional reads of a course (players poll them): documented on both operations.
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match", str, location=OpenApiParameter.HEADER, required=False,
    description="The ETag of the copy the caller holds (or a list of them, or `*`): when it still matches, "
    "the answer is 304 with no body. Tags compare weakly, so `W/\"…\"` and `\"…\"` both match.",
)
ETAG = OpenApiParameter(
    "ETag", str, location=OpenApiParameter.HEADER, response=[200, 304],
    description="A weak validator of `result` for this caller: it changes with every change to the course's "
    "content or status, and differs between authors and learners. Send it back in If-None-Match.",
)
CACHE_CONTROL = OpenApiParameter(
    "Cache-Control", str, location=OpenApiParameter.HEADER, response=[200, 304],
    description="`private, no-cache`: a player may keep the answer but must revalidate it (with If-None-Match) "
    "before each use; no shared cache may keep it. `Vary: Authorization, tenantid` says the same.",
)
NOT_MODIFIED = OpenApiResponse(
    description="The caller's copy (If-None-Match) is current. No body and no envelope; the response "
    "carries the ETag, Cache-Control, Vary and X-Request-Id headers."
)


class ConditionalReadSchema(EnvelopeAutoSchema):
    """The envelope schema, but a 304 is documented bare: it has no body, so no envelope either.

    EnvelopeAutoSchema documents any success without a body as an envelope with a null result
    (deletes answer that way); drf-spectacular's own mapping says what a 304 is. Kept here rather
    than in lms.api.schema while these two reads are the only conditional ones.
    """

    def _get_response_for_code(self, serializer, status_code, media_types=None, direction="response"):
        if str(status_code) == "304":
            return AutoSchema._get_response_for_code(self, serializer, status_code, media_types, direction)
        return super()._get_response_for_code(serializer, status_code, media_types, direction)


def _holds_current_copy(request, etag: str) -> bool:
    """If-None-Match names `etag` (RFC 9110 §13.1.2). It compares weakly: a tag sent back with or
    without its `W/` matches. `*` matches, the course being visible to the caller; a malformed
    header matches nothing, so it gets the full answer."""
    header = request.META.get("HTTP_IF_NONE_MATCH")
    if not header:
        return False
    if header == etag:  # what a player sends back verbatim
        return True
    opaque = etag.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == opaque for tag in parse_etags(header))


def _with_validator(response, etag: str):
    # `private`: the body depends on the caller's token and tenant, so no shared cache may keep it
    # (Vary says the same to any that does); `no-cache`: players keep it but ask again every time,
    # and the 304 makes asking cheap.
    # The response is new here, with no Vary yet (DRF and the CORS middleware add theirs after).
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    response["Vary"] = "Authorization, tenantid"
    return response


class CatalogueViewSet(TenantScopedViewSet):
    permission_classes = [AuthorWritesAuthenticatedReads]
    filter_backends: list = []

    @property
    def learner(self) -> bool:
        return not self.request.user.is_staff_role

    @property
    def image_url(self):
        return rendering.image_url_builder(self.request)

    # Objects an author may write: in the tenant and not archived (archived ones answer 404).
    def author_course(self, course_id: uuid.UUID) -> Course:
        return self.get_object_or_404(selectors.courses_visible(tenant_id=self.tenant_id, learner=False), pk=course_id)

    def author_module(self, module_id: uuid.UUID) -> Module:
        return self.get_object_or_404(
            selectors.modules_visible(tenant_id=self.tenant_id, learner=False).select_related("course"), pk=module_id
        )

    def author_lesson(self, lesson_id: uuid.UUID) -> Lesson:
        return self.get_object_or_404(selectors.lessons_visible(tenant_id=self.tenant_id, learner=False), pk=lesson_id)

    def visible_course_row(self, course_id: uuid.UUID) -> dict:
        row = selectors.course_row(tenant_id=self.tenant_id, course_id=course_id, learner=self.learner)
        if row is None:
            raise NotFoundError("No course with that id in this tenant.")
        return row

    def visible_module_row(self, module_id: uuid.UUID) -> dict:
        row = selectors.module_row(tenant_id=self.tenant_id, module_id=module_id, learner=self.learner)
        if row is None:
            raise NotFoundError("No module with that id in this tenant.")
        return row


class CourseViewSet(CatalogueViewSet):
    queryset = Course.objects.all()
    schema = ConditionalReadSchema()
    filter_backends = [DjangoFilterBackend]
    filterset_class = CourseFilter
    api_ids = {
        "create": "api.course.create",
        "list": "api.course.list",
        "retrieve": "api.course.get",
        "details": "api.course.get",
        "update": "api.course.update",
        "destroy": "api.course.delete",
    }

    def _course_data(self, course_id: uuid.UUID) -> dict:
        return rendering.course_data(self.visible_course_row(course_id), self.image_url)

    @extend_schema(
        summary="Create a course (multipart, with an image)",
        request=_multipart_or_json(CourseInputSerializer),
        responses={201: CourseOutputSerializer},
    )
    def create(self, request):
        data = _body(CourseInputSerializer, request, aliases=COURSE_ALIASES)
        course = services.course_create(tenant_id=self.tenant_id, created_by=request.user.user_id, **data)
        return created(self._course_data(course.pk))

    @extend_schema(
        summary="List courses (filters status, featured, free, q; paginated)",
        parameters=PAGE_PARAMETERS,
        responses=CourseListOutputSerializer,
    )
    def list(self, request):
        courses = self.filter_queryset(selectors.courses_visible(tenant_id=self.tenant_id, learner=self.learner))
        count, rows = paginate(selectors.course_values(courses), request)
        return Response({"count": count, "courses": [rendering.course_data(row, self.image_url) for row in rows]})

    @extend_schema(
        summary="Get a course (conditional: ETag and If-None-Match)",
        parameters=[IF_NONE_MATCH, ETAG, CACHE_CONTROL],
        responses={200: CourseOutputSerializer, 304: NOT_MODIFIED},
    )
    def retrieve(self, request, pk):
        def render() -> dict | None:
            row = selectors.course_row(tenant_id=self.tenant_id, course_id=pk, learner=self.learner)
            return None if row is None else rendering.course_data(row, self.image_url)

        return self._conditional_read(request, pk, kind="course", render=render)

    @extend_schema(
        summary="Get a course with its modules and their lessons, in order (conditional: ETag and If-None-Match)",
        parameters=[IF_NONE_MATCH, ETAG, CACHE_CONTROL],
        responses={200: CourseDetailsOutputSerializer, 304: NOT_MODIFIED},
    )
    def details(self, request, pk):
        def render() -> dict | None:
            tree = selectors.course_tree(tenant_id=self.tenant_id, course_id=pk, learner=self.learner)
            return None if tree is None else rendering.course_tree_data(tree, self.image_url)

        return self._conditional_read(request, pk, kind="tree", render=render)

    def _conditional_read(self, request, pk, *, kind: str, render: Callable[[], dict | None]):
        """The course's rendering of `kind` for this caller, or 304 when the caller holds it.

        One narrow read of the course decides visibility and names the body; the body itself comes
        from this process's cache, then the configured one (shared between processes with
        CACHE_URL=redis://…), and is rendered only when neither holds it. Neither can be stale:
        every content write bumps `content_version` through the services, and the key holds it.
        """
        course = selectors.course_version(tenant_id=self.tenant_id, course_id=pk, learner=self.learner)
        if course is None:
            raise NotFoundError("No course with that id in this tenant.")
        key = rendering.representation_key(kind=kind, course=course, learner=self.learner, request=request)
        etag = rendering.entity_tag(key)
        if _holds_current_copy(request, etag):
            return _with_validator(HttpResponseNotModified(), etag)
        # This process's copy first: Django's cache hands back a fresh unpickled copy of the (often
        # several hundred kB) body on every hit.
        encoded = _rendered_bodies.get(key)
        if encoded is None:
            encoded = cache.get(key)
            if encoded is None:
                data = render()
                if data is None:  # unpublished or archived since the read above
                    raise NotFoundError("No course with that id in this tenant.")
                # Rendered after the version was read, so never older than the key says: at worst a
                # write in between is cached under the version it replaced, which nobody asks for again.
                encoded = rendering.encode_result(data)
                cache.set(key, encoded, timeout=COURSE_TREE_CACHE_SECONDS)
            _rendered_bodies.put(key, encoded)
        # A plain HttpResponse of the cached bytes in the envelope, not DRF's Response around them.
        return _with_validator(pre_rendered_ok(request, self, encoded), etag)

    @extend_schema(
        summary="Update a course (multipart; send only the fields to change)",
        request=_multipart_or_json(CourseInputSerializer(partial=True)),
        responses=CourseOutputSerializer,
    )
    def update(self, request, pk):
        course = self.author_course(pk)
        data = _body(CourseInputSerializer, request, partial=True, aliases=COURSE_ALIASES)
        image = data.pop("image", services.UNCHANGED)
        category_ids = data.pop("category_ids", None)
        services.course_update(
            course=course, updated_by=request.user.user_id, changes=data, image=image, category_ids=category_ids
        )
        return Response(self._course_data(pk))

    @extend_schema(summary="Archive a course with its modules and placements", responses=DELETED)
    def destroy(self, request, pk):
        services.course_archive(course=self.author_course(pk), updated_by=request.user.user_id)
        return Response(None)


class ModuleViewSet(CatalogueViewSet):
    queryset = Module.objects.all()
    api_ids = {
        "create": "api.module.create",
        "retrieve": "api.module.get",
        "by_course": "api.module.list",
        "update": "api.module.update",
        "destroy": "api.module.delete",
    }

    def _module_data(self, module_id: uuid.UUID) -> dict:
        return rendering.module_data(self.visible_module_row(module_id), self.image_url)

    @extend_schema(
        summary="Create a module in a course (appended unless `ordering` is given)",
        request=_multipart_or_json(ModuleInputSerializer),
        responses={201: ModuleOutputSerializer},
    )
    def create(self, request):
        data = _body(ModuleInputSerializer, request)
        course = self.author_course(data.pop("course_id"))
        module = services.module_create(course=course, created_by=request.user.user_id, **data)
        return created(self._module_data(module.pk))

    @extend_schema(summary="Get a module", responses=ModuleOutputSerializer)
    def retrieve(self, request, pk):
        return Response(self._module_data(pk))

    @extend_schema(
        summary="List a course's modules in order (an array; paginated)",
        parameters=ARRAY_PAGE_PARAMETERS,
        responses=ModuleOutputSerializer(many=True),
    )
    def by_course(self, request, course_id):
        self.visible_course_row(course_id)
        count, rows = paginate(
            selectors.module_values_for_course(tenant_id=self.tenant_id, course_id=course_id, learner=self.learner),
            request,
        )
        return _array([rendering.module_data(row, self.image_url) for row in rows], count)

    @extend_schema(
        summary="Update a module; `ordering` moves it among its siblings",
        request=_multipart_or_json(ModuleInputSerializer(partial=True)),
        responses=ModuleOutputSerializer,
    )
    def update(self, request, pk):
        module = self.author_module(pk)
        data = _body(ModuleInputSerializer, request, partial=True)
        image = data.pop("image", services.UNCHANGED)
        course_id = data.pop("course_id", None)
        if course_id is not None:
            data["course"] = self.author_course(course_id)
        services.module_update(module=module, updated_by=request.user.user_id, changes=data, image=image)
        return Response(self._module_data(pk))

    @extend_schema(summary="Archive a module", responses=DELETED)
    def destroy(self, request, pk):
        services.module_archive(module=self.author_module(pk), updated_by=request.user.user_id)
        return Response(None)


_LESSON_EXTRAS = ("image", "media_id", "media_content", "course_id", "module_id", "ordering", "category_ids")


class LessonViewSet(CatalogueViewSet):
    queryset = Lesson.objects.all()
    filter_backends = [DjangoFilterBackend]
    filterset_class = LessonFilter
    api_ids = {
        "create": "api.lesson.create",
        "list": "api.lesson.list",
        "retrieve": "api.lesson.get",
        "by_module": "api.lesson.list",
        "by_course": "api.lesson.list",
        "update": "api.lesson.update",
        "destroy": "api.lesson.delete",
        "place": "api.lesson.add",
    }

    def get_permissions(self):
        if self.action == "place":
            return [IsAuthor()]
        return super().get_permissions()

    def _split(self, data: dict) -> tuple[dict, dict]:
        extras = {name: data.pop(name) for name in _LESSON_EXTRAS if name in data}
        course_id, module_id = extras.pop("course_id", None), extras.pop("module_id", None)
        extras["course"] = self.author_course(course_id) if course_id else None
        extras["module"] = self.author_module(module_id) if module_id else None
        return data, extras

    def _lesson_data(self, placed: services.PlacedLesson) -> dict:
        row = selectors.lesson_row_in_placement(
            tenant_id=self.tenant_id,
            lesson_id=placed.lesson.pk,
            placement_id=placed.placement.pk if placed.placement else None,
        )
        return rendering.lesson_data(row, self.image_url)

    @extend_schema(
        summary="Create a lesson (multipart; mediaContent nested; optional courseId+moduleId placement)",
        request=_multipart_or_json(LessonInputSerializer),
        responses={201: LessonOutputSerializer},
    )
    def create(self, request):
        attributes, extras = self._split(_body(LessonInputSerializer, request))
        placed = services.lesson_create(
            tenant_id=self.tenant_id, created_by=request.user.user_id, **extras, **attributes
        )
        return created(self._lesson_data(placed))

    @extend_schema(
        summary="List lessons, newest first (filters status, format, courseId, moduleId, inLib; an array; paginated)",
        parameters=ARRAY_PAGE_PARAMETERS,
        responses=LessonOutputSerializer(many=True),
    )
    def list(self, request):
        """The lesson library as a plain array, as the spec shows it (DECISIONS §1), with the total
        in X-Total-Count. Newest first (createdAt, then id), with or without filters: a lesson has
        no position of its own, only per placement; GET /lessons/module/:id lists a module's
        lessons in their `ordering`. Each row describes the lesson's first placement in the
        filtered course or module (or overall)."""
        lessons = self.filter_queryset(selectors.lessons_visible(tenant_id=self.tenant_id, learner=self.learner))
        count, rows = paginate(selectors.lesson_values(lessons), request)
        rows = selectors.lesson_rows_with_first_placement(
            tenant_id=self.tenant_id,
            learner=self.learner,
            rows=rows,
            # Present means non-empty: TenantScopedMixin refuses `?courseId=` before any handler runs.
            course_id=request.query_params.get("courseId"),
            module_id=request.query_params.get("moduleId"),
        )
        return _array(rendering.lessons_data(rows, self.image_url), count)

    @extend_schema(summary="Get a lesson with all its placements", responses=LessonDetailOutputSerializer)
    def retrieve(self, request, pk):
        detail = selectors.lesson_detail(tenant_id=self.tenant_id, lesson_id=pk, learner=self.learner)
        if detail is None:
            raise NotFoundError("No lesson with that id in this tenant.")
        row, placements = detail
        data = rendering.lesson_data(row, self.image_url)
        data["placements"] = [rendering.placement_data(placement) for placement in placements]
        return Response(data)

    @extend_schema(
        summary="List a module's lessons in order (an array; paginated)",
        parameters=ARRAY_PAGE_PARAMETERS,
        filters=False,  # the list filters do not apply here: the placements give the lessons
        responses=LessonOutputSerializer(many=True),
    )
    def by_module(self, request, module_id):
        self.visible_module_row(module_id)
        count, rows = paginate(
            selectors.lesson_placements_in_module(tenant_id=self.tenant_id, module_id=module_id, learner=self.learner),
            request,
        )
        return _array(rendering.lessons_data(selectors.lesson_rows_from_placements(rows), self.image_url), count)

    @extend_schema(
        summary="List a course's lessons, module by module, in order (an array; paginated)",
        parameters=ARRAY_PAGE_PARAMETERS,
        filters=False,  # the list filters do not apply here: the placements give the lessons
        responses=LessonOutputSerializer(many=True),
    )
    def by_course(self, request, course_id):
        self.visible_course_row(course_id)
        count, rows = paginate(
            selectors.lesson_placements_in_course(tenant_id=self.tenant_id, course_id=course_id, learner=self.learner),
            request,
        )
        return _array(rendering.lessons_data(selectors.lesson_rows_from_placements(rows), self.image_url), count)

    @extend_schema(
        summary="Update a lesson; moduleId(+courseId) with ordering moves (or adds) that placement",
        request=_multipart_or_json(LessonInputSerializer(partial=True)),
        responses=LessonOutputSerializer,
    )
    def update(self, request, pk):
        lesson = self.author_lesson(pk)
        changes, extras = self._split(_body(LessonInputSerializer, request, partial=True))
        extras.setdefault("image", services.UNCHANGED)
        placed = services.lesson_update(lesson=lesson, updated_by=request.user.user_id, changes=changes, **extras)
        if placed.placement is None:
            row, _ = selectors.lesson_detail(tenant_id=self.tenant_id, lesson_id=pk, learner=False)
            return Response(rendering.lesson_data(row, self.image_url))
        return Response(self._lesson_data(placed))

    @extend_schema(summary="Archive a lesson", responses=DELETED)
    def destroy(self, request, pk):
        services.lesson_archive(lesson=self.author_lesson(pk), updated_by=request.user.user_id)
        return Response(None)

    @extend_schema(
        summary="Place an existing lesson in a course's module",
        request=_multipart_or_json(PlacementInputSerializer),
        responses={
            201: PlacementCreatedOutputSerializer,
            409: OpenApiResponse(description="The lesson is already placed in that module (ERR_ALREADY_PLACED); `result` names the placement."),
        },
    )
    def place(self, request):
        data = _body(PlacementInputSerializer, request)
        course = self.author_course(data["course_id"])
        module = self.author_module(data["module_id"])
        lesson = self.author_lesson(data["lesson_id"])
        placement = services.placement_create(
            course=course, module=module, lesson=lesson, created_by=request.user.user_id, ordering=data.get("ordering")
        )
        return created(
            {
                "lessonId": str(lesson.pk),
                "courseId": str(course.pk),
                "moduleId": str(module.pk),
                "placementId": str(placement.pk),
                "ordering": placement.ordering,
                "message": "Lesson successfully added to course and module",
            }
        )
