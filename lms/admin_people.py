"""People, not UUIDs, in the admin (DECISIONS §10): wherever a row holds a learner's user id, its
change list shows the learner's name and email from the learner directory and finds rows by them.

`LearnerColumnsMixin` is the one reusable piece each app's admin puts in front of its ModelAdmin:
a `learner` column and read-only field, one directory read per change-list page (never one per
row), and a search that adds name/email matches to the admin's own (exact user id) search.
"""

from __future__ import annotations

import uuid

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Exists, OuterRef
from django.utils.html import format_html

from lms.models import LearnerDirectoryEntry, learner_label
from lms.selectors import learner_directory_matching, learner_directory_of_pairs

# The directory entry of a row, once looked up (None: the directory does not know the learner).
_ENTRY_ATTRIBUTE = "_learner_directory_entry"


def learner_html(*, user_id, entry: LearnerDirectoryEntry | None):
    """A learner as a cell: name over email when the directory knows them, else the user id."""
    if user_id is None:
        return "—"
    if entry is None or not (entry.name or entry.email):
        return format_html('<span class="learner learner-unknown" title="Not in the learner directory"><code>{}</code></span>', user_id)
    if entry.name and entry.email:
        return format_html(
            '<span class="learner" title="{}"><strong class="learner-name">{}</strong><br>'
            '<small class="learner-email">{}</small></span>',
            user_id, entry.name, entry.email,
        )
    return format_html('<span class="learner" title="{}"><strong class="learner-name">{}</strong></span>',
                       user_id, entry.name or entry.email)


def _follow(obj, path: str):
    for name in path.split("__"):
        if obj is None:
            return None
        obj = getattr(obj, name)
    return obj


class LearnerChangeListMixin:
    """A change list that reads the directory entries of its page's learners in one query."""

    def get_results(self, request):
        super().get_results(request)
        self.model_admin.attach_learners(self.result_list)


_learner_change_lists: dict[type, type] = {}


def learner_change_list(base: type[ChangeList]) -> type[ChangeList]:
    """`base` (the admin's own change list class, whatever other mixins chose) with the directory read."""
    if base not in _learner_change_lists:
        _learner_change_lists[base] = type(f"Learner{base.__name__}", (LearnerChangeListMixin, base), {})
    return _learner_change_lists[base]


class LearnerColumnsMixin:
    """For a ModelAdmin of rows that hold a learner's user id. Add "learner" to `list_display` (and
    to `readonly_fields` to show it on the change form); search matches names and emails too.

    `learner_user_field` and `learner_tenant_field` are ORM paths from the row to the user id and
    to the tenant id (`track__user_id` on a track override).
    """

    learner_user_field = "user_id"
    learner_tenant_field = "tenant_id"

    def get_changelist(self, request, **kwargs):
        return learner_change_list(super().get_changelist(request, **kwargs))

    def _learner_key(self, obj) -> tuple:
        return _follow(obj, self.learner_tenant_field), _follow(obj, self.learner_user_field)

    def attach_learners(self, rows) -> None:
        """Sets each row's directory entry (None when unknown) from one directory read."""
        rows = list(rows)
        keys = {id(obj): self._learner_key(obj) for obj in rows}
        entries = learner_directory_of_pairs(keys.values())
        for obj in rows:
            setattr(obj, _ENTRY_ATTRIBUTE, entries.get(keys[id(obj)]))

    @admin.display(description="Learner")
    def learner(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        if not hasattr(obj, _ENTRY_ATTRIBUTE):  # a change form: one row, one read
            self.attach_learners([obj])
        return learner_html(user_id=_follow(obj, self.learner_user_field), entry=getattr(obj, _ENTRY_ATTRIBUTE))

    # The change form's heading and breadcrumb read the learner's name, not the row's user id.
    change_form_template = "admin/learner_change_form.html"

    def learner_heading(self, obj) -> str:
        """The row's own text with its user id replaced by the learner's name and email."""
        if not hasattr(obj, _ENTRY_ATTRIBUTE):
            self.attach_learners([obj])
        entry = getattr(obj, _ENTRY_ATTRIBUTE)
        user_id = _follow(obj, self.learner_user_field)
        if entry is None or user_id is None:
            return str(obj)
        label = learner_label(user_id=user_id, name=entry.name, email=entry.email)
        text = str(obj)
        return text.replace(str(user_id), label) if str(user_id) in text else f"{label} · {text}"

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.pk is not None:
            context["subtitle"] = self.learner_heading(obj)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        text = search_term.strip()
        if len(text) < 2 or _is_uuid(text):
            return found, may_have_duplicates
        # Correlated with the row's own tenant: a name is only ever the learner's in that tenant.
        in_directory = learner_directory_matching(text=text).filter(
            tenant_id=OuterRef(self.learner_tenant_field), user_id=OuterRef(self.learner_user_field)
        )
        return found | queryset.filter(Exists(in_directory)), may_have_duplicates


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
