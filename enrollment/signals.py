from django.dispatch import Signal

# Sent by `enrollment_create` inside its transaction. Argument: enrollment.
# The tracking app creates the enrollment's course track in the same transaction.
enrollment_created = Signal()

# Sent by `enrollment_approve` and `enrollment_update` inside their transaction when enrollments
# become active (approved, or re-activated). Argument: enrollment_ids (a list). A completed track
# earns its certificate only while its enrollment is active, so the tracking app recounts those
# enrollments' tracks in the same transaction.
enrollment_activated = Signal()
