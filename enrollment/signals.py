from django.dispatch import Signal

# Sent by `enrollment_create` inside its transaction. Argument: enrollment.
# The tracking app creates the enrollment's course track in the same transaction.
enrollment_created = Signal()

# Sent by `enrollment_approve` and `enrollment_update` inside their transaction when enrollments
# become active (approved, or re-activated). Argument: enrollment_ids (a list). A completed track
# earns its certificate only while its enrollment is active, so the tracking app recounts those
# enrollments' tracks in the same transaction.
enrollment_activated = Signal()

# Sent by `enrollments_bulk_create` inside its transaction, once per call. Argument: enrollments
# (a list of the enrollments it created, all in one course). The tracking app creates their course
# tracks in the same transaction, in bulk statements (one INSERT, whatever their number).
enrollments_created = Signal()
