"""Response shapes of the catalogue, built from `.values()` rows (see `courses.selectors`).

Plain functions rather than serializers: the course tree of `GET /courses/details/:id` can hold
hundreds of lessons, and per-object serializer machinery would dominate its cost. The documented
shapes are the output serializers in `courses.api.serializers`; tests keep both in step.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterable

from django.core.files.storage import default_storage, storages

from courses.selectors import CourseTree, LessonRow
from lms.api.envelope import encode_json_to_keep
from lms.api.fields import absolute_url, id_or_none, iso_utc
from lms.api.hosts import checked_host
from lms.lru import WeightedLRU

ImageUrl = Callable[[str], "str | None"]


def image_url_builder(request) -> ImageUrl:
    """Absolute URLs for stored file names (a storage that returns absolute URLs keeps them)."""

    def image_url(name: str) -> str | None:
        return absolute_url(request, default_storage.url(name)) if name else None

    return image_url


def _json_object(value: dict | None) -> dict:
    # `params` is always an object on the wire (DECISIONS §1), even where the column holds null.
    return {} if value is None else value


def _authored(row: dict) -> dict:
    return {
        "createdBy": id_or_none(row["created_by"]),
        "createdAt": iso_utc(row["created_at"]),
        "updatedBy": id_or_none(row["updated_by"]),
        "updatedAt": iso_utc(row["updated_at"]),
    }


def course_data(row: dict, image_url: ImageUrl) -> dict:
    return {
        "courseId": str(row["id"]),
        "tenantId": str(row["tenant_id"]),
        "title": row["title"],
        "shortDescription": row["short_description"],
        "description": row["description"],
        "image": image_url(row["image"]),
        "featured": row["featured"],
        "free": row["free"],
        "paid": not row["free"],
        "certificate_term": row["certificate_term"],
        "certificate_id": row["certificate_id"],
        "startDatetime": iso_utc(row["start_datetime"]),
        "endDatetime": iso_utc(row["end_datetime"]),
        "adminApproval": row["admin_approval"],
        "autoEnroll": row["auto_enroll"],
        "status": row["status"],
        "params": _json_object(row["params"]),
        "categoryIds": list(row["category_ids"] or []),
        **_authored(row),
    }


# Course summaries (`course_data`) of catalogue and home pages by (course, content_version, status,
# `rendering_origin`): a course row never changes under its version (every write to it bumps
# `content_version` through the services, in the write's own transaction, as the cached bodies of
# `representation_key` rely on), and the origin fixes its image URL. A page of 20 then costs 20
# lookups instead of 20 renderings of 4 timestamps and 4 ids each. Shared between requests and
# threads, so never mutated: a caller adding keys copies first. Bounded at some 8 MB of text a process.
_summaries: WeightedLRU[dict] = WeightedLRU(
    max_weight=8 * 1024 * 1024,
    weigh=lambda data: 512 + len(data["title"] or "") + len(data["description"] or "") + len(data["shortDescription"] or ""),
)


def course_summaries(rows: list[dict], image_url: ImageUrl, *, origin: str) -> list[dict]:
    """`course_data` of each row (`.values()` of `courses.selectors.COURSE_VALUES`, so with its
    `content_version`), in order, from the cache where it holds them. The dicts are shared: copy
    one before changing it. `origin`: `rendering_origin(request)` of the request `image_url` builds for."""
    keys = [(row["id"], row["content_version"], row["status"], origin) for row in rows]
    found = _summaries.get_many(keys)
    rendered = {}
    summaries = []
    for row, key in zip(rows, keys, strict=True):
        data = found.get(key) or rendered.get(key)
        if data is None:
            data = rendered[key] = course_data(row, image_url)
        summaries.append(data)
    if rendered:
        _summaries.put_many(rendered)
    return summaries


def course_summaries_clear() -> None:
    """Empties this process's cache of course summaries (tests that write rows behind the services)."""
    _summaries.clear()


def module_data(row: dict, image_url: ImageUrl) -> dict:
    return {
        "moduleId": str(row["id"]),
        "tenantId": str(row["tenant_id"]),
        "courseId": str(row["course_id"]),
        "title": row["title"],
        "description": row["description"],
        "ordering": row["ordering"],
        "image": image_url(row["image"]),
        "status": row["status"],
        **_authored(row),
    }


def _media_data(media: dict | None) -> dict | None:
    if media is None:
        return None
    return {
        "url": media["url"],
        "format": media["format"],
        "sub_format": media["sub_format"],
        "source": media["source"],
        "params": _json_object(media["params"]),
    }


def lesson_data(row: LessonRow, image_url: ImageUrl) -> dict:
    lesson, placement = row.lesson, row.placement
    return {
        "lessonId": str(lesson["id"]),
        "tenantId": str(lesson["tenant_id"]),
        "title": lesson["title"],
        "alias": lesson["alias"],
        "description": lesson["description"],
        "content": lesson["content"],
        "shortDesc": lesson["short_desc"],
        "image": image_url(lesson["image"]),
        "status": lesson["status"],
        "format": lesson["format"],
        "duration": lesson["duration"],
        "startDate": iso_utc(lesson["start_date"]),
        "endDate": iso_utc(lesson["end_date"]),
        "storage": lesson["storage"],
        "freeLesson": lesson["free_lesson"],
        "noOfAttempts": lesson["no_of_attempts"],
        "attemptsGrade": lesson["attempts_grade"],
        "considerMarks": lesson["consider_marks"],
        "mediaId": id_or_none(lesson["media_id"]),
        "mediaContent": _media_data(row.media),
        "eligibilityCriteria": [str(lesson_id) for lesson_id in lesson["eligibility_criteria"] or []],
        "idealTime": lesson["ideal_time"],
        "resume": lesson["resume"],
        "totalMarks": lesson["total_marks"],
        "passingMarks": lesson["passing_marks"],
        "inLib": lesson["in_lib"],
        "params": _json_object(lesson["params"]),
        "ordering": placement["ordering"] if placement else None,
        "courseId": id_or_none(placement["course_id"]) if placement else None,
        "moduleId": id_or_none(placement["module_id"]) if placement else None,
        "categoryIds": list(lesson["category_ids"] or []),
        **_authored(lesson),
    }


def placement_data(row: dict) -> dict:
    return {
        "placementId": str(row["id"]),
        "courseId": str(row["course_id"]),
        "moduleId": str(row["module_id"]),
        "ordering": row["ordering"],
    }


def lessons_data(rows: Iterable[LessonRow], image_url: ImageUrl) -> list[dict]:
    return [lesson_data(row, image_url) for row in rows]


def course_tree_data(tree: CourseTree, image_url: ImageUrl) -> dict:
    lessons_by_module: dict = {}
    for row in tree.lessons:
        lessons_by_module.setdefault(row.placement["module_id"], []).append(lesson_data(row, image_url))
    modules = []
    for module in tree.modules:
        shaped = module_data(module, image_url)
        shaped["lessons"] = lessons_by_module.get(module["id"], [])
        modules.append(shaped)
    return {**course_data(tree.course, image_url), "modules": modules}


# --- cached renderings and their validators ---------------------------------------------------

# Part of every cached rendering's key and of every ETag. Bump it with any change to what these
# functions render (a field, a format): a rolling deploy runs old and new code against one shared
# cache, and a player holding an old ETag must not get a 304 for a body that has changed.
# 2: encoded by orjson (lms.api.envelope.encode_json), which writes some floats in another notation.
RENDERING_REVISION = 2


def representation_key(*, kind: str, course: dict, learner: bool, request) -> str:
    """Names one rendered body of the course (`kind`: "course" or "tree") by everything that
    changes its bytes for this caller: the course's id, `content_version` (which every content
    write bumps) and status; the audience (authors see drafts that learners never see); the scheme
    and host its absolute image URLs are built on; and, where the storage signs its URLs, the
    window they were signed in. The body under a key never changes, so any cache may keep it."""
    audience = "learner" if learner else "author"
    return (
        f"{kind}:{RENDERING_REVISION}:{course['id']}:{course['content_version']}:{course['status']}:{audience}:"
        f"{rendering_origin(request)}"
    )


def rendering_origin(request) -> str:
    """What a rendering's bytes take from the request rather than the course: the scheme and host
    its absolute image URLs are built on and, where the storage signs its URLs, their window."""
    return f"{request.scheme}://{_request_host(request)}{_signed_url_window()}"


def _request_host(request) -> str:
    """`request.get_host()`: the Host header, refused (DisallowedHost) unless ALLOWED_HOSTS admits it
    (remembered per header: `lms.api.hosts`)."""
    return checked_host(request, request.get_host)


def entity_tag(key: str) -> str:
    """The ETag of the body `representation_key` names. Weak: the body that carries it is the
    envelope, whose `ts` and `resmsgid` differ on every response; only its `result` is the same."""
    return f'W/"{hashlib.blake2b(key.encode(), digest_size=12).hexdigest()}"'


def _signed_url_window() -> str:
    """For a storage that signs its URLs (S3 with AWS_QUERYSTRING_AUTH, the default there): which
    half of a signature's lifetime it is now. A body embedding signed URLs is then never older than
    half their life, so none is served (or confirmed by a 304) with a link about to expire."""
    # The storage itself rather than `default_storage`: asking the lazy proxy for an attribute that
    # FileSystemStorage lacks cost several µs on every request.
    storage = storages["default"]
    if not getattr(storage, "querystring_auth", False):
        return ""
    half_life = max(1, int(getattr(storage, "querystring_expire", 3600)) // 2)
    return f":signed-{int(_now()) // half_life}"


def _now() -> float:
    # Its own name, so a test can move this clock without moving every other (token expiry reads time.time).
    return time.time()


def encode_result(data) -> bytes:
    """`data` as the envelope renderer encodes it, to be cached and spliced into the envelope
    (lms.api.envelope.PreRenderedJSON): the renderer's own encoder, so a cached body and a fresh
    one write the same bytes (floats included)."""
    return encode_json_to_keep(data)
