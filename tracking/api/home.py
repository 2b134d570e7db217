"""The learner home and catalogue endpoints (DECISIONS §11) that know the learner:
`GET /courses/search`, `GET /enrollments/users-courses`, `GET /enrollments/dashboard`,
`GET /courses/tracking/modules` and `GET /lessons/tracking/status`.

They live in the tracking app because they read enrolments and course tracks, which the
courses and enrollment apps below may not. Views parse, call `tracking.home` or the tracking
services, and shape; the shapes are documented by the serializers here.

`userId` follows the house rule: a learner may name only themselves (403 otherwise), staff
anyone in the tenant; left out, it is the caller.
"""

from __future__ import annotations

import functools
import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from courses.api.filters import StrictBooleanField, category_ids_from_query
from courses.api.rendering import course_summaries, image_url_builder, rendering_origin
from courses.api.serializers import CourseOutputSerializer
from enrollment.api.serializers import EnrollmentOutputSerializer
from lms.api.envelope import PreRenderedJSON, encode_json, encode_json_to_keep
from lms.api.errors import ApiError
from lms.api.fields import TextField, UUIDStringField
from lms.api.pagination import PageQuerySerializer, page_from_request
from lms.api.permissions import IsAuthenticatedPrincipal, acting_user_id
from lms.api.query import validated_query
from lms.api.views import TenantScopedViewSet
from tracking import home, services
from tracking.api.rendering import attempt_data
from tracking.api.serializers import CourseTrackSerializer, LessonAttemptSerializer
from tracking.models import CourseTrack, CourseTrackStatus

CATEGORY_PARAMETERS = [
    OpenApiParameter("categoryIds", str, description="Category ids, repeated or comma-separated: courses in any of them."),
    OpenApiParameter("categoryId", uuid.UUID, description="One category id (joins `categoryIds`)."),
]


@extend_schema_field(OpenApiTypes.BOOL)
class StrictBoolean(serializers.Field):
    """`true` or `false` (and 1/0, yes/no), anything else a 400 that says so."""

    def to_internal_value(self, data):
        try:
            return StrictBooleanField().to_python(data)
        except Exception:  # django.forms.ValidationError: reported in the API's own words
            raise serializers.ValidationError("Use true or false.") from None

    def to_representation(self, value):
        return value


def _boolean_parameter(name, description):
    return OpenApiParameter(name, bool, description=description)


class SearchQuerySerializer(serializers.Serializer):
    q = TextField(required=False, max_length=200, help_text="Words in the title or description.")
    featured = StrictBoolean(required=False)
    free = StrictBoolean(required=False)
    hasEnroll = StrictBoolean(required=False)  # noqa: N815
    userId = UUIDStringField(required=False)  # noqa: N815


class UsersCoursesQuerySerializer(serializers.Serializer):
    userId = UUIDStringField(required=False)  # noqa: N815
    hasEnroll = StrictBoolean(required=False)  # noqa: N815


class UserQuerySerializer(serializers.Serializer):
    userId = UUIDStringField(required=False)  # noqa: N815


class ModuleProgressQuerySerializer(serializers.Serializer):
    course_id = UUIDStringField()
    user_id = UUIDStringField(required=False)


class LessonStatusQuerySerializer(serializers.Serializer):
    lesson_id = UUIDStringField()
    course_id = UUIDStringField(required=False, help_text="Required when the lesson is placed in several courses.")
    user_id = UUIDStringField(required=False)


# --- output shapes -------------------------------------------------------------------------------


class CourseSearchOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total across all pages.")
    courses = CourseOutputSerializer(many=True)


class NextLessonSerializer(serializers.Serializer):
    lessonId = serializers.UUIDField()  # noqa: N815
    title = serializers.CharField()
    moduleId = serializers.UUIDField()  # noqa: N815


class HomeCourseSerializer(CourseOutputSerializer):
    totalModuleCount = serializers.IntegerField(help_text="Published modules of the course.")  # noqa: N815
    completedModuleCount = serializers.IntegerField(required=False, help_text="With hasEnroll=true.")  # noqa: N815
    progress = serializers.IntegerField(required=False, help_text="0-100: the track's completed/total lessons.")
    courseTracking = CourseTrackSerializer(required=False, allow_null=True)  # noqa: N815
    enrollment = EnrollmentOutputSerializer(required=False, allow_null=True)
    nextLesson = NextLessonSerializer(required=False, allow_null=True)  # noqa: N815


class UsersCoursesOutputSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Total across all pages.")
    courses = HomeCourseSerializer(many=True)


class ModuleProgressSerializer(serializers.Serializer):
    moduleId = serializers.UUIDField()  # noqa: N815
    title = serializers.CharField()
    totalLessons = serializers.IntegerField()  # noqa: N815
    completedLessons = serializers.IntegerField()  # noqa: N815
    status = serializers.ChoiceField(choices=CourseTrackStatus.choices)


class ModuleProgressOutputSerializer(serializers.Serializer):
    modules = ModuleProgressSerializer(many=True)


class CategoryProgressSerializer(serializers.Serializer):
    categoryId = serializers.UUIDField()  # noqa: N815
    name = serializers.CharField()
    enrolled = serializers.IntegerField()
    completed = serializers.IntegerField()


class DashboardOutputSerializer(serializers.Serializer):
    enrolled = serializers.IntegerField()
    notStarted = serializers.IntegerField()  # noqa: N815
    inProgress = serializers.IntegerField()  # noqa: N815
    completed = serializers.IntegerField()
    certificates = serializers.IntegerField()
    assignedDue = serializers.IntegerField(help_text="Enrolled by someone else and not completed.")  # noqa: N815
    overdue = serializers.IntegerField(help_text="end_time passed without completion.")
    byCategory = CategoryProgressSerializer(many=True)  # noqa: N815


class RequiredLessonSerializer(serializers.Serializer):
    lessonId = serializers.UUIDField()  # noqa: N815
    title = serializers.CharField()
    completed = serializers.BooleanField()


class LessonStatusOutputSerializer(serializers.Serializer):
    canStart = serializers.BooleanField(help_text="POST /lessons/tracking without `action` would succeed.")  # noqa: N815
    canResume = serializers.BooleanField(help_text='`action: "resume"` would succeed.')  # noqa: N815
    canReattempt = serializers.BooleanField(help_text='`action: "start"` would open a new attempt.')  # noqa: N815
    attemptsUsed = serializers.IntegerField()  # noqa: N815
    attemptsAllowed = serializers.IntegerField(help_text="0 = unlimited.")  # noqa: N815
    eligible = serializers.BooleanField(help_text="Every prerequisite is completed in this course.")
    requiredLessons = RequiredLessonSerializer(many=True)  # noqa: N815
    lastAttempt = LessonAttemptSerializer(allow_null=True)  # noqa: N815
    nextAction = serializers.ChoiceField(  # noqa: N815
        choices=["resume", "create", "refused"], help_text="What POST without `action` would do."
    )
    refusal = serializers.DictField(allow_null=True, help_text="`err` and `errmsg` POST would answer, or null.")


# --- views -----------------------------------------------------------------------------------------


def _query(serializer_class, request) -> dict:
    return validated_query(serializer_class, request.query_params)


def _progress_percent(track: dict | None) -> int:
    if track is None or not track["no_of_lessons"]:
        return 0
    return min(100, track["completed_lessons"] * 100 // track["no_of_lessons"])


# `EnrollmentOutputSerializer`'s keys, in the order of `tracking.home`'s enrolment rows (`_ENROLLMENT_VALUES`).
_ENROLLMENT_KEYS = (
    "id", "course_id", "user_id", "tenantId", "batch_id", "enrolled_on_time", "end_time", "state", "active",
    "unlimited_plan", "before_expiry_mail", "after_expiry_mail", "params", "enrolled_by", "enrolled_at",
    "updated_by", "updated_at",
)


def _enrollment_row_data(enrollment: dict) -> dict:
    """`EnrollmentOutputSerializer`'s shape from a home page's enrolment row, its values as they are
    (UUIDs, datetimes) for `encode_json(..., native_datetimes=True)` to write as the serializer does:
    a page of 20 courses rendered through the serializer machinery cost more than its queries, and
    their values' text written in Python (`str`, `iso_utc`, ~1-2 µs each) some 0.3 ms a page at L
    (tests keep the shapes equal)."""
    data = dict(zip(_ENROLLMENT_KEYS, enrollment.values(), strict=True))
    if data["params"] is None:
        data["params"] = {}
    return data


@functools.lru_cache(maxsize=4096)
def _next_lesson_data(next_lesson: home.NextLesson | None) -> dict | None:
    # A NextLesson is an immutable part of a cached course outline, and so is its rendering: shared,
    # never mutated (only encoded).
    if next_lesson is None:
        return None
    return {"lessonId": str(next_lesson.lesson_id), "title": next_lesson.title, "moduleId": str(next_lesson.module_id)}


# How many encoded heads an outline keeps (`_item_head`): one per (status, origin), and the origin
# changes with a signed-URL window; past this the memo starts again.
_HEADS_PER_OUTLINE = 8


def _item_head(outline, course: dict, image_url, origin: str) -> bytes:
    """A home item's bytes up to its `completedModuleCount` value: the course's summary and its
    `totalModuleCount`, facts of the course at the outline's version, its status and the origin
    (`course_summaries`' key), so kept in the outline's memo (`_CourseOutline.rendered`)."""
    heads = outline.rendered.setdefault("heads", {})
    key = (course["status"], origin)
    head = heads.get(key)
    if head is None:
        (summary,) = course_summaries([course], image_url, origin=origin)
        head = (
            encode_json(summary, native_datetimes=True)[:-1]
            + b',"totalModuleCount":%d,"completedModuleCount":' % len(outline.module_sizes)
        )
        if len(heads) >= _HEADS_PER_OUTLINE:
            heads.clear()  # threads may race here (never iterating it); the worst is a head encoded again
        heads[key] = head
    return head


def _next_lesson_bytes(outline, next_lesson: home.NextLesson | None) -> bytes:
    # By the lesson's id: a course version's next lesson is one of its placements, whose title and
    # module are facts of that version, so the outline's memo holds one entry a placement at most.
    if next_lesson is None:
        return b"null"
    encoded_by_lesson = outline.rendered.setdefault("next", {})
    encoded = encoded_by_lesson.get(next_lesson.lesson_id)
    if encoded is None:
        encoded = encoded_by_lesson[next_lesson.lesson_id] = encode_json_to_keep(_next_lesson_data(next_lesson))
    return encoded


def _as_read(values: dict) -> dict:
    # A track renders as its row reads (`CourseTrackSerializer`'s shape, tests keep them equal).
    return values


def _row_bytes(row: home.RowVersion | None, shape) -> bytes:
    # A row version's encoding (its `shape`, as `users_courses` documents it) is a fact of that
    # version, as the row is: kept in its memo, so a page whose rows have not changed encodes none.
    if row is None:
        return b"null"
    encoded = row.rendered.get("json")
    if encoded is None:
        encoded = row.rendered["json"] = encode_json_to_keep(shape(row.values), native_datetimes=True)
    return encoded


def _home_page_bytes(page: home.HomePage, progress, image_url, origin: str) -> bytes:
    """The home page's result (`{"count": …, "courses": […]}`), the same bytes as encoding the items
    `users_courses` builds, written from each course's memoized head (`_item_head`) and next lesson
    and from the memoized encoding of each enrolment and track version (`_row_bytes`), so only the
    user's figures are written per request: merging each course's 20-odd summary keys into a new dict
    and encoding them again had been a tenth of the request in this process.
    `encode_json`'s own fallback (DRF's renderer) keeps even values orjson refuses to the same bytes."""
    items = []
    for course, outline, enrollment, track, course_progress in zip(
        page.courses, page.outlines, page.enrollments, page.tracks, progress, strict=True
    ):
        items.append(
            _item_head(outline, course, image_url, origin)
            + b'%d,"progress":%d,"courseTracking":' % (
                course_progress.completed_modules, _progress_percent(track.values if track is not None else None)
            )
            + _row_bytes(track, _as_read) + b',"enrollment":' + _row_bytes(enrollment, _enrollment_row_data)
            + b',"nextLesson":' + _next_lesson_bytes(outline, course_progress.next_lesson) + b"}"
        )
    return b'{"count":%d,"courses":[' % page.count + b",".join(items) + b"]}"


_ID = "7b0c3a52-1d1e-4b8e-9a59-3c1b2f7d9a10"


def _enveloped(api_id: str, result) -> dict:
    """An example answer as clients receive it: the result inside the LMS envelope."""
    return {
        "id": api_id, "ver": "1.0", "ts": "2026-01-05T09:30:00Z",
        "params": {"resmsgid": "3d2c1b0a-9f8e-4d7c-8b6a-5f4e3d2c1b0a", "status": "successful", "err": None,
                   "errmsg": None},
        "responseCode": 200, "result": result,
    }

HOME_EXAMPLE = OpenApiExample(
    "The home screen", response_only=True,
    value=_enveloped("api.enrollment.users.courses", {"count": 1, "courses": [{
        "courseId": _ID, "title": "Intro to SQL", "categoryIds": [], "totalModuleCount": 4, "completedModuleCount": 1,
        "progress": 35, "courseTracking": {"status": "in_progress", "completed_lessons": 7, "no_of_lessons": 20},
        "enrollment": {"id": "0d8f2d7e-6a0e-4b43-9d55-3b1c2e7f9a21", "active": True, "state": 1},
        "nextLesson": {"lessonId": "5c1e0b1a-2f3d-4e5f-8a9b-0c1d2e3f4a5b", "title": "Joins",
                       "moduleId": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"},
    }]}),
)
MODULES_EXAMPLE = OpenApiExample(
    "Two modules", response_only=True,
    value=_enveloped("api.course.tracking.modules", {"modules": [
        {"moduleId": _ID, "title": "Basics", "totalLessons": 5, "completedLessons": 5, "status": "completed"},
        {"moduleId": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d", "title": "Joins", "totalLessons": 6,
         "completedLessons": 2, "status": "in_progress"},
    ]}),
)
DASHBOARD_EXAMPLE = OpenApiExample(
    "A learner", response_only=True,
    value=_enveloped("api.enrollment.dashboard", {
        "enrolled": 5, "notStarted": 1, "inProgress": 3, "completed": 1, "certificates": 1, "assignedDue": 2,
        "overdue": 1, "byCategory": [{"categoryId": _ID, "name": "Data", "enrolled": 3, "completed": 1}],
    }),
)
STATUS_EXAMPLE = OpenApiExample(
    "An unfinished attempt to resume", response_only=True,
    value=_enveloped("api.lesson.tracking.status", {
        "canStart": True, "canResume": True, "canReattempt": True, "attemptsUsed": 1, "attemptsAllowed": 3,
        "eligible": True, "requiredLessons": [{"lessonId": _ID, "title": "Basics", "completed": True}],
        "lastAttempt": {"id": "0d8f2d7e-6a0e-4b43-9d55-3b1c2e7f9a21", "attempt": 1, "status": "started"},
        "nextAction": "resume", "refusal": None,
    }),
)


class LearnerHomeViewSet(TenantScopedViewSet):
    permission_classes = [IsAuthenticatedPrincipal]
    queryset = CourseTrack.objects.none()
    api_ids = {
        "search": "api.course.search",
        "users_courses": "api.enrollment.users.courses",
        "dashboard": "api.enrollment.dashboard",
        "modules": "api.course.tracking.modules",
        "lesson_status": "api.lesson.tracking.status",
    }

    @property
    def learner(self) -> bool:
        return not self.request.user.is_staff_role

    @extend_schema(
        parameters=[SearchQuerySerializer, *CATEGORY_PARAMETERS, PageQuerySerializer],
        responses=CourseSearchOutputSerializer,
        summary="Search the catalogue (q, categories, featured, free; hasEnroll with userId)",
        description=(
            "`q`: words in the title or description (PostgreSQL full-text search; a contains match on SQLite). "
            "`hasEnroll=true` keeps the courses `userId` is enrolled in, `false` the published ones they are not "
            "in (discover); `userId` is then required. Learners see published courses only. By title."
        ),
        examples=[OpenApiExample(
            "Discover", response_only=True,
            value=_enveloped("api.course.search", {"count": 1, "courses": [
                {"courseId": _ID, "title": "Python", "categoryIds": [], "status": "published"},
            ]}),
        )],
    )
    def search(self, request):
        query = _query(SearchQuerySerializer, request)
        has_enroll, user_id = query.get("hasEnroll"), query.get("userId")
        if has_enroll is not None and user_id is None:
            raise ApiError(
                "hasEnroll needs userId: name the learner whose enrolments split the catalogue.",
                code="MANDATORY_PARAMETER_MISSING", result={"errors": {"userId": ["Required with hasEnroll."]}},
            )
        if user_id is not None:
            acting_user_id(request.user, user_id)
        page = page_from_request(request)
        catalogue = home.catalogue_page(
            tenant_id=self.tenant_id, learner=self.learner, q=query.get("q"),
            category_ids=category_ids_from_query(request.query_params, tenant_id=self.tenant_id),
            featured=query.get("featured"), free=query.get("free"), user_id=user_id, has_enroll=has_enroll,
            offset=page.offset, limit=page.limit,
        )
        summaries = course_summaries(catalogue.courses, image_url_builder(request), origin=rendering_origin(request))
        return Response({"count": catalogue.count, "courses": summaries})

    @extend_schema(
        parameters=[UsersCoursesQuerySerializer, *CATEGORY_PARAMETERS, PageQuerySerializer],
        responses=UsersCoursesOutputSerializer, examples=[HOME_EXAMPLE],
        summary="The learner's home screen: courses with progress, modules, track, enrolment and next lesson",
        description=(
            "With `hasEnroll=true`: the user's enrolled courses, latest accessed first, each with "
            "`completedModuleCount`, `progress`, `courseTracking` and `enrollment` (the course's own batch) and "
            "`nextLesson`. `false`: the published courses they are not in. Left out: every course they may see. "
            "A constant number of queries per page."
        ),
    )
    def users_courses(self, request):
        query = _query(UsersCoursesQuerySerializer, request)
        user_id = acting_user_id(request.user, query.get("userId"))
        has_enroll = query.get("hasEnroll")
        category_ids = category_ids_from_query(request.query_params, tenant_id=self.tenant_id)
        image_url = image_url_builder(request)
        if has_enroll is not True:
            page = page_from_request(request)
            catalogue = home.catalogue_page(
                tenant_id=self.tenant_id, learner=self.learner, q=None, category_ids=category_ids, featured=None,
                free=None, user_id=user_id, has_enroll=has_enroll, offset=page.offset, limit=page.limit,
            )
            count, rows = catalogue.count, catalogue.courses
            course_ids = [row["id"] for row in rows]
            module_counts = home.module_counts(course_ids=course_ids)
            summaries = course_summaries(rows, image_url, origin=rendering_origin(request))
            items = [
                {**summary, "totalModuleCount": module_counts.get(course_id, 0)}
                for summary, course_id in zip(summaries, course_ids, strict=True)
            ]
            return Response({"count": count, "courses": items})
        page = page_from_request(request)
        home_page = home.home_page(
            tenant_id=self.tenant_id, learner=self.learner, user_id=user_id, category_ids=category_ids,
            offset=page.offset, limit=page.limit,
        )
        progress = home.home_page_progress(tenant_id=self.tenant_id, user_id=user_id, page=home_page)
        origin = rendering_origin(request)
        # Encoded here, with orjson writing the page's timestamps (twelve a course) itself: in C, where
        # the serializers' text of each (`iso_utc`, through a memo) cost some 0.3 ms a page of 20.
        return Response(PreRenderedJSON(_home_page_bytes(home_page, progress, image_url, origin)))

    @extend_schema(
        parameters=[UserQuerySerializer], responses=DashboardOutputSerializer, examples=[DASHBOARD_EXAMPLE],
        summary="The learner dashboard: counts over active enrolments, certificates, by category",
    )
    def dashboard(self, request):
        query = _query(UserQuerySerializer, request)
        user_id = acting_user_id(request.user, query.get("userId"))
        board = home.learner_dashboard(tenant_id=self.tenant_id, user_id=user_id)
        return Response({
            "enrolled": board.enrolled, "notStarted": board.not_started, "inProgress": board.in_progress,
            "completed": board.completed, "certificates": board.certificates, "assignedDue": board.assigned_due,
            "overdue": board.overdue, "byCategory": board.by_category,
        })

    @extend_schema(
        parameters=[ModuleProgressQuerySerializer], responses=ModuleProgressOutputSerializer, examples=[MODULES_EXAMPLE],
        summary="Module progress of a learner in a course, in course order",
        description=(
            "From the same facts as the course track: a module is completed when every published lesson placed in "
            "it is completed in the user's enrolment (the course's own batch); a module without lessons never is."
        ),
    )
    def modules(self, request):
        query = _query(ModuleProgressQuerySerializer, request)
        user_id = acting_user_id(request.user, query.get("user_id"))
        course_id = query["course_id"]
        home.visible_course_or_404(tenant_id=self.tenant_id, course_id=course_id, learner=self.learner)
        progress = home.courses_progress(tenant_id=self.tenant_id, user_id=user_id, contexts=[(course_id, course_id)])
        return Response({"modules": [
            {"moduleId": str(module.module_id), "title": module.title, "totalLessons": module.total_lessons,
             "completedLessons": module.completed_lessons, "status": module.status}
            for module in progress[(course_id, course_id)].modules
        ]})

    @extend_schema(
        parameters=[LessonStatusQuerySerializer], responses=LessonStatusOutputSerializer, examples=[STATUS_EXAMPLE],
        summary="What POST /lessons/tracking would do next (the same decision, nothing written)",
    )
    def lesson_status(self, request):
        query = _query(LessonStatusQuerySerializer, request)
        status = services.lesson_attempt_status(
            tenant_id=self.tenant_id,
            user_id=acting_user_id(request.user, query.get("user_id")),
            lesson_id=query["lesson_id"],
            course_id=query.get("course_id"),
            published_only=self.learner,
        )
        step = status.default_step
        return Response({
            "canStart": step.refusal is None,
            "canResume": status.resume_step.refusal is None,
            "canReattempt": status.start_step.create,
            "attemptsUsed": status.attempts_used,
            "attemptsAllowed": status.lesson.no_of_attempts,
            "eligible": all(completed for _, _, completed in status.prerequisites),
            "requiredLessons": [
                {"lessonId": str(lesson_id), "title": title, "completed": completed}
                for lesson_id, title, completed in status.prerequisites
            ],
            "lastAttempt": attempt_data(status.last_attempt) if status.last_attempt is not None else None,
            "nextAction": "refused" if step.refusal else "resume" if step.resume is not None else "create",
            "refusal": {"err": step.refusal.err, "errmsg": step.refusal.errmsg} if step.refusal else None,
        })
