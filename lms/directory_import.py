"""Reading a learner directory CSV (`user_id,name,email`, header optional) and saying, line by line,
what importing it into a tenant would change: the admin's import preview (DECISIONS §10)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from lms.models import LearnerDirectoryEntry
from lms.selectors import learner_directory

NEW = "new"
CHANGED = "changed"
UNCHANGED = "unchanged"
INVALID = "invalid"

IMPORT_MAX_LINES = 10_000
_NAME_MAX = LearnerDirectoryEntry._meta.get_field("name").max_length
_EMAIL_MAX = LearnerDirectoryEntry._meta.get_field("email").max_length


@dataclass
class DirectoryLine:
    line: int  # from 1, as a spreadsheet numbers rows
    text: str
    outcome: str = NEW  # NEW, CHANGED, UNCHANGED or INVALID
    reason: str = ""
    user_id: uuid.UUID | None = None
    name: str | None = None
    email: str | None = None
    old_name: str | None = None
    old_email: str | None = None


def directory_csv_lines(text: str) -> list[DirectoryLine]:
    """The CSV's rows, each checked on its own (a repeated user id is flagged on its later line).
    A first row whose first cell is `user_id` is a header and skipped; blank rows are skipped."""
    lines: list[DirectoryLine] = []
    first_line_of: dict[uuid.UUID, int] = {}
    raw_lines = text.splitlines()
    reader = csv.reader(io.StringIO(text))
    for cells in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if not lines and cells[0].strip().lower().lstrip("\ufeff") == "user_id":
            continue
        row = DirectoryLine(line=number, text=raw_lines[number - 1] if number <= len(raw_lines) else ",".join(cells))
        lines.append(row)
        if len(cells) != 3:
            row.outcome, row.reason = INVALID, f"Expected 3 columns (user_id,name,email); found {len(cells)}."
            continue
        user_id_text, name, email = (cell.strip() for cell in cells)
        try:
            row.user_id = uuid.UUID(user_id_text)
        except ValueError:
            row.outcome, row.reason = INVALID, "The user_id is not a UUID."
            continue
        row.name = " ".join(name.split()) or None
        row.email = email or None
        if row.name is None and row.email is None:
            row.outcome, row.reason = INVALID, "Give a name, an email or both."
        elif row.name and len(row.name) > _NAME_MAX:
            row.outcome, row.reason = INVALID, f"The name is longer than {_NAME_MAX} characters."
        elif row.email and (len(row.email) > _EMAIL_MAX or not _is_email(row.email)):
            row.outcome, row.reason = INVALID, "The email is not a valid address."
        elif row.user_id in first_line_of:
            row.outcome, row.reason = INVALID, f"The same user_id as line {first_line_of[row.user_id]}; keep one."
        else:
            first_line_of[row.user_id] = number
    return lines


def _is_email(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def directory_import_preview(*, tenant_id: uuid.UUID, lines: list[DirectoryLine]) -> list[DirectoryLine]:
    """Marks each valid line new, changed (with the old values) or unchanged against the tenant's
    directory, in one query. Returns `lines`."""
    known = learner_directory(tenant_id=tenant_id, user_ids=[line.user_id for line in lines if line.outcome != INVALID])
    for line in lines:
        if line.outcome == INVALID:
            continue
        entry = known.get(line.user_id)
        if entry is None:
            line.outcome = NEW
        elif (entry.name, entry.email) == (line.name, line.email):
            line.outcome = UNCHANGED
        else:
            line.outcome, line.old_name, line.old_email = CHANGED, entry.name, entry.email
    return lines
