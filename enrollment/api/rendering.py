"""The enrollment list's rows, shaped from `.values()`-style rows (see `enrollment.selectors`).

Plain functions rather than serializers: for a page of a few rows, building the serializer and
its per-row field machinery was most of the list's cost. The documented shape is still
`EnrollmentWithCourseOutputSerializer`; a test keeps the two identical, key for key.
"""

from __future__ import annotations

from courses.api.rendering import ImageUrl
from lms.api.fields import id_or_none, iso_utc


def enrollment_with_course_data(row: dict, image_url: ImageUrl) -> dict:
    return {
        "id": str(row["id"]),
        "course_id": str(row["course_id"]),
        "user_id": str(row["user_id"]),
        "tenantId": str(row["tenant_id"]),
        "batch_id": str(row["batch_id"]),
        "enrolled_on_time": iso_utc(row["enrolled_on_time"]),
        "end_time": iso_utc(row["end_time"]),
        "state": row["state"],
        "active": row["active"],
        "unlimited_plan": row["unlimited_plan"],
        "before_expiry_mail": row["before_expiry_mail"],
        "after_expiry_mail": row["after_expiry_mail"],
        "params": row["params"],
        "enrolled_by": id_or_none(row["enrolled_by"]),
        "enrolled_at": iso_utc(row["enrolled_at"]),
        "updated_by": id_or_none(row["updated_by"]),
        "updated_at": iso_utc(row["updated_at"]),
        "title": row["course__title"],
        "shortDescription": row["course__short_description"],
        "description": row["course__description"],
        "image": image_url(row["course__image"]),
    }
