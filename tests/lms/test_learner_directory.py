"""The learner directory: the latest `name`/`email` claims per (tenant, user) (DECISIONS §10)."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from lms.models import LearnerDirectoryEntry, learner_label
from lms.selectors import learner_directory, learner_directory_user_ids_matching
from lms.services import learner_directory_import
from tests.conftest import make_client

pytestmark = pytest.mark.django_db

DIRECTORY_TABLE = LearnerDirectoryEntry._meta.db_table


def _directory_statements(queries) -> list[str]:
    return [query["sql"] for query in queries if DIRECTORY_TABLE in query["sql"]]


def _get_courses(client):
    # The process remembers stored claims once committed; the test's transaction never commits,
    # so run the request's on-commit callbacks as a real commit would.
    with CaptureQueriesContext(connection) as captured, TestCase.captureOnCommitCallbacks(execute=True):
        response = client.get("/courses")
    assert response.status_code == 200, response.content
    return _directory_statements(captured.captured_queries)


def test_first_request_stores_the_claims(tenant):
    client = make_client(tenant_id=tenant.id, roles=["learner"], name="Ada Lovelace", email="ada@example.org")
    assert len(_get_courses(client)) == 1
    entry = LearnerDirectoryEntry.objects.get()
    assert (entry.tenant_id, entry.user_id, entry.name, entry.email) == (
        tenant.id, client.user_id, "Ada Lovelace", "ada@example.org"
    )


def test_a_warm_process_sends_no_directory_statement(tenant):
    client = make_client(tenant_id=tenant.id, roles=["learner"], name="Ada", email="ada@example.org")
    _get_courses(client)
    assert _get_courses(client) == []
    assert _get_courses(client) == []


def test_a_changed_claim_is_written_and_an_absent_one_keeps_the_stored_value(tenant):
    user_id = uuid.uuid4()
    _get_courses(make_client(tenant_id=tenant.id, roles=["learner"], user_id=user_id, name="Ada", email="a@example.org"))
    first_update = LearnerDirectoryEntry.objects.get().updated_at
    _get_courses(make_client(tenant_id=tenant.id, roles=["learner"], user_id=user_id, name="Ada King"))
    entry = LearnerDirectoryEntry.objects.get()
    assert (entry.name, entry.email) == ("Ada King", "a@example.org")
    assert entry.updated_at > first_update


def test_an_unchanged_row_is_not_rewritten_by_another_process(tenant):
    """A cold process (here: the cache forgotten) sends the upsert, whose condition leaves the row alone."""
    from lms.services import forget_directory_seen

    client = make_client(tenant_id=tenant.id, roles=["learner"], name="Ada", email="a@example.org")
    _get_courses(client)
    stored = LearnerDirectoryEntry.objects.get().updated_at
    forget_directory_seen()
    assert len(_get_courses(client)) == 1
    assert LearnerDirectoryEntry.objects.get().updated_at == stored


def test_tokens_without_claims_write_nothing(tenant):
    assert _get_courses(make_client(tenant_id=tenant.id, roles=["learner"])) == []
    assert not LearnerDirectoryEntry.objects.exists()


@pytest.mark.parametrize("email", ["not an address", "x" * 300 + "@example.org", 42])
def test_an_unusable_email_is_ignored_and_the_request_still_served(tenant, email):
    client = make_client(tenant_id=tenant.id, roles=["learner"], name="Ada", email=email)
    _get_courses(client)
    assert LearnerDirectoryEntry.objects.get().email is None


def test_a_name_that_is_not_a_string_is_ignored(tenant):
    client = make_client(tenant_id=tenant.id, roles=["learner"], name=["Ada"], email="ada@example.org")
    _get_courses(client)
    assert LearnerDirectoryEntry.objects.get().name is None


def test_each_tenant_keeps_its_own_entry(tenant, other_tenant):
    user_id = uuid.uuid4()
    _get_courses(make_client(tenant_id=tenant.id, roles=["learner"], user_id=user_id, name="Ada at A"))
    _get_courses(make_client(tenant_id=other_tenant.id, roles=["learner"], user_id=user_id, name="Ada at B"))
    assert learner_directory(tenant_id=tenant.id, user_ids=[user_id])[user_id].name == "Ada at A"
    assert learner_directory(tenant_id=other_tenant.id, user_ids=[user_id])[user_id].name == "Ada at B"
    assert learner_directory_user_ids_matching(tenant_id=tenant.id, text="at B") == []


def test_the_directory_read_is_one_query_whatever_the_number_of_users(tenant, django_assert_num_queries):
    users = [uuid.uuid4() for _ in range(30)]
    learner_directory_import(tenant_id=tenant.id, rows=[(user, f"Learner {i}", f"l{i}@example.org") for i, user in enumerate(users)])
    with django_assert_num_queries(1):  # the directory rows of those users in the tenant
        found = learner_directory(tenant_id=tenant.id, user_ids=users + [uuid.uuid4()])
    assert len(found) == 30


def test_an_import_sets_and_clears_values(tenant):
    user_id = uuid.uuid4()
    learner_directory_import(tenant_id=tenant.id, rows=[(user_id, "Ada", "ada@example.org")])
    learner_directory_import(tenant_id=tenant.id, rows=[(user_id, "Ada King", "")])
    entry = LearnerDirectoryEntry.objects.get()
    assert (entry.name, entry.email) == ("Ada King", None)


def test_labels_fall_back_to_the_user_id():
    user_id = uuid.uuid4()
    assert learner_label(user_id=user_id, name="Ada", email="a@example.org") == "Ada <a@example.org>"
    assert learner_label(user_id=user_id, name=None, email="a@example.org") == "a@example.org"
    assert learner_label(user_id=user_id, name=None, email=None) == str(user_id)


@pytest.mark.django_db(transaction=True)
def test_a_cold_write_is_one_autocommitted_statement_remembered_at_once(tenant):
    """No atomic block around the upsert: on PostgreSQL a block costs a BEGIN and a COMMIT round
    trip on the first request of every user in every process, for a statement that is atomic anyway."""
    from lms.services import forget_directory_seen, learner_directory_record

    forget_directory_seen()
    in_block = []

    def note_block(execute, sql, params, many, context):
        if DIRECTORY_TABLE in sql:
            in_block.append(connection.in_atomic_block)
        return execute(sql, params, many, context)

    user_id = uuid.uuid4()
    with connection.execute_wrapper(note_block):
        assert learner_directory_record(tenant_id=tenant.id, user_id=user_id, name="Ada", email=None) is True
        # Committed and remembered: the same values send nothing more.
        assert learner_directory_record(tenant_id=tenant.id, user_id=user_id, name="Ada", email=None) is False
    assert in_block == [False]
    assert LearnerDirectoryEntry.objects.get(user_id=user_id).name == "Ada"


@pytest.mark.django_db(transaction=True)
def test_a_write_rolled_back_with_its_callers_transaction_is_sent_again(tenant):
    from django.db import transaction

    from lms.services import forget_directory_seen, learner_directory_record

    forget_directory_seen()
    user_id = uuid.uuid4()

    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        assert learner_directory_record(tenant_id=tenant.id, user_id=user_id, name="Ada", email=None) is True
        raise Abort
    assert not LearnerDirectoryEntry.objects.filter(user_id=user_id).exists()
    assert learner_directory_record(tenant_id=tenant.id, user_id=user_id, name="Ada", email=None) is True
    assert LearnerDirectoryEntry.objects.get(user_id=user_id).name == "Ada"
