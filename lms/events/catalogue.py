"""The event catalogue of DECISIONS §9: the types a subscription may name."""

ENROLLMENT_CREATED = "enrollment.created"
ENROLLMENT_UPDATED = "enrollment.updated"
LESSON_COMPLETED = "lesson.completed"
COURSE_COMPLETED = "course.completed"
CERTIFICATE_ISSUED = "certificate.issued"
PROGRAM_ENROLLED = "program.enrolled"
WEBHOOK_TEST = "webhook.test"

EVENT_TYPES = (
    ENROLLMENT_CREATED,
    ENROLLMENT_UPDATED,
    LESSON_COMPLETED,
    COURSE_COMPLETED,
    CERTIFICATE_ISSUED,
    PROGRAM_ENROLLED,
    WEBHOOK_TEST,
)
ALL_EVENTS = "*"
