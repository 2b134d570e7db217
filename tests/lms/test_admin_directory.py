"""The learner directory in the admin: "Import learners from CSV" with a preview, in one tenant."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from lms.models import LearnerDirectoryEntry, TenantMembership
from lms.services import learner_directory_import

pytestmark = pytest.mark.django_db

IMPORT = "/admin/lms/learnerdirectoryentry/import/"
CHANGELIST = "/admin/lms/learnerdirectoryentry/"


@pytest.fixture
def site_admin(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def member_of(*tenants) -> Client:
    user = User.objects.create_user(username=f"staff-{uuid.uuid4().hex[:6]}", password="x", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="lms", codename__endswith="learnerdirectoryentry"))
    for tenant in tenants:
        TenantMembership.objects.create(tenant=tenant, user=user, role=TenantMembership.Role.ADMIN)
    client = Client()
    client.force_login(user)
    return client


def test_preview_says_what_each_line_does_and_changes_nothing(site_admin, tenant):
    kept, renamed, new = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    learner_directory_import(tenant_id=tenant.id, rows=[(kept, "Kept Same", "kept@x.example"),
                                                       (renamed, "Old Name", "renamed@x.example")])
    csv = "\n".join([
        "user_id,name,email",
        f"{kept},Kept Same,kept@x.example",
        f"{renamed},New Name,renamed@x.example",
        f"{new},Brand New,new@x.example",
        "not-a-uuid,Someone,someone@x.example",
        f"{uuid.uuid4()},Bad Mail,not-an-email",
        f"{new},Again,again@x.example",
        f"{uuid.uuid4()},two columns",
        f"{uuid.uuid4()},,",
    ])

    response = site_admin.post(IMPORT, {"tenant": str(tenant.pk), "text": csv, "_preview": "Preview"})

    assert response.status_code == 200
    lines = [(line.line, line.outcome) for line, _ in response.context["lines"]]
    assert lines == [(2, "unchanged"), (3, "changed"), (4, "new"), (5, "invalid"), (6, "invalid"), (7, "invalid"),
                     (8, "invalid"), (9, "invalid")]
    reasons = [line.reason for line, _ in response.context["lines"] if line.outcome == "invalid"]
    assert reasons == ["The user_id is not a UUID.", "The email is not a valid address.",
                       "The same user_id as line 4; keep one.",
                       "Expected 3 columns (user_id,name,email); found 2.", "Give a name, an email or both."]
    html = response.content.decode()
    assert 'id="import-preview-table"' in html and "<del>Old Name</del>" in html and "Import 2 learners" in html
    assert LearnerDirectoryEntry.objects.get(user_id=renamed).name == "Old Name"
    assert not LearnerDirectoryEntry.objects.filter(user_id=new).exists()


def test_confirm_imports_new_and_changed_rows(site_admin, tenant):
    renamed, new = uuid.uuid4(), uuid.uuid4()
    learner_directory_import(tenant_id=tenant.id, rows=[(renamed, "Old Name", "renamed@x.example")])
    csv = f"{renamed},New Name,\n{new},Brand New,new@x.example\nbroken"

    response = site_admin.post(IMPORT, {"tenant": str(tenant.pk), "text": csv, "_confirm": "Import"}, follow=True)

    assert "Imported into Tenant A: 1 new, 1 changed, 0 unchanged; 1 invalid line(s) skipped." in response.content.decode()
    entries = {e.user_id: (e.name, e.email) for e in LearnerDirectoryEntry.objects.filter(tenant=tenant)}
    # An import sets what it is given: the empty email clears the old one.
    assert entries == {renamed: ("New Name", None), new: ("Brand New", "new@x.example")}


def test_an_uploaded_file_with_a_bom_and_a_header_is_read(site_admin, tenant):
    learner = uuid.uuid4()
    upload = SimpleUploadedFile("people.csv", f"\ufeffuser_id,name,email\r\n{learner},Ana,ana@x.example\r\n".encode())

    response = site_admin.post(IMPORT, {"tenant": str(tenant.pk), "text": "", "upload": upload, "_preview": "Preview"})

    assert [(line.user_id, line.outcome) for line, _ in response.context["lines"]] == [(learner, "new")]


def test_a_single_tenant_member_imports_into_their_tenant_without_choosing(tenant, other_tenant):
    member = member_of(tenant)
    learner = uuid.uuid4()

    form = member.get(IMPORT).content.decode()
    assert 'type="hidden" name="tenant"' in form and other_tenant.name not in form
    member.post(IMPORT, {"tenant": str(tenant.pk), "text": f"{learner},Ana,ana@x.example", "_confirm": "Import"})
    assert LearnerDirectoryEntry.objects.get(user_id=learner).tenant_id == tenant.pk

    refused = member.post(IMPORT, {"tenant": str(other_tenant.pk), "text": f"{uuid.uuid4()},Eve,", "_confirm": "Import"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert not LearnerDirectoryEntry.objects.filter(tenant=other_tenant).exists()


def test_a_member_of_several_tenants_chooses_and_sees_only_theirs(tenant, other_tenant):
    member = member_of(tenant, other_tenant)
    learner_directory_import(tenant_id=tenant.id, rows=[(uuid.uuid4(), "Visible", None)])
    form = member.get(IMPORT).content.decode()
    assert "<select" in form and tenant.name in form and other_tenant.name in form

    outsider = member_of(other_tenant)
    assert "Visible" not in outsider.get(CHANGELIST).content.decode()
    assert "Visible" in member.get(CHANGELIST).content.decode()


def test_the_list_links_to_the_import_and_hand_edits_use_the_import_write(site_admin, tenant):
    assert IMPORT in site_admin.get(CHANGELIST).content.decode()
    learner = uuid.uuid4()
    site_admin.post(f"{CHANGELIST}add/", {"tenant": str(tenant.pk), "user_id": str(learner), "name": "Hand Made", "email": ""})
    entry = LearnerDirectoryEntry.objects.get(user_id=learner)
    assert (entry.name, entry.email) == ("Hand Made", None)
    response = site_admin.post(f"{CHANGELIST}{entry.pk}/change/", {"name": "Hand Edited", "email": "h@x.example"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert (entry.name, entry.email) == ("Hand Edited", "h@x.example")
