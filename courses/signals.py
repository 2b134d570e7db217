from django.dispatch import Signal

# Sent by the courses services inside the write's transaction whenever the set of a course's
# required lessons may have changed (placement added/archived/restored, module or lesson
# published/archived). Argument: course_id. The tracking app recounts its tracks.
course_content_changed = Signal()
