from django.dispatch import Signal

# Sent by `enrollment_create` inside its transaction. Argument: enrollment.
# The tracking app creates the enrollment's course track in the same transaction.
enrollment_created = Signal()
