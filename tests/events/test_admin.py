"""Webhooks in the admin: the services of the API, rows scoped to the staff user's tenants."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lms.events import services
from lms.events.models import WebhookDelivery, WebhookSubscription
from lms.models import TenantMembership

pytestmark = pytest.mark.django_db

ADD = "/admin/events/webhooksubscription/add/"


def _form(tenant, **fields):
    return {"tenant": str(tenant.pk), "url": "http://127.0.0.1:9/hook", "events": ["*"], "description": "",
            "active": "on", **fields}


def test_adding_a_subscription_shows_its_secret_once(admin_user, client, tenant):
    client.force_login(admin_user)

    response = client.post(ADD, _form(tenant))

    assert response.status_code == 302
    subscription = WebhookSubscription.objects.get()
    shown = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(subscription.secret in message for message in shown)
    assert subscription.secret in client.get(response.url).content.decode()  # the message, once
    page = client.get(f"/admin/events/webhooksubscription/{subscription.pk}/change/")
    assert page.status_code == 200 and subscription.secret not in page.content.decode()


def test_a_refused_url_is_a_form_error(admin_user, client, tenant, settings):
    settings.LMS_WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(admin_user)

    response = client.post(ADD, _form(tenant))

    assert response.status_code == 200 and "LMS_WEBHOOK_ALLOW_PRIVATE" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_staff_see_only_their_tenants_subscriptions_and_deliveries(client, tenant, other_tenant, django_user_model):
    mine = services.webhook_subscription_create(tenant_id=tenant.id, url="http://127.0.0.1:9/a", events=["*"])
    theirs = services.webhook_subscription_create(tenant_id=other_tenant.id, url="http://127.0.0.1:9/b", events=["*"])
    services.webhook_subscription_test(subscription=mine)
    services.webhook_subscription_test(subscription=theirs)
    staff = django_user_model.objects.create_user("ops", password="x", is_staff=True, is_superuser=False)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="events"))
    TenantMembership.objects.create(tenant=tenant, user=staff, role="admin")
    client.force_login(staff)

    listed = client.get("/admin/events/webhooksubscription/").content.decode()

    assert "127.0.0.1:9/a" in listed and "127.0.0.1:9/b" not in listed
    # Another tenant's row is a 404, as a missing one (lms.admin_tenancy), never a redirect.
    assert client.get(f"/admin/events/webhooksubscription/{theirs.pk}/change/").status_code == 404
    assert WebhookDelivery.objects.count() == 2
    page = client.get("/admin/events/webhookdelivery/").context["cl"]
    assert {d.subscription_id for d in page.result_list} == {mine.pk}


def test_the_redeliver_action_requeues_the_selected_deliveries(admin_user, client, tenant):
    subscription = services.webhook_subscription_create(tenant_id=tenant.id, url="http://127.0.0.1:9/a", events=["*"])
    delivery = services.webhook_subscription_test(subscription=subscription)
    WebhookDelivery.objects.update(status="failed", next_attempt_at=None)
    client.force_login(admin_user)

    response = client.post("/admin/events/webhookdelivery/", {"action": "redeliver", "_selected_action": [delivery.pk]})

    assert response.status_code == 302
    assert WebhookDelivery.objects.get().status == "pending"


def _redeliver_statements(tenant, deliveries: int) -> list[str]:
    subscription = services.webhook_subscription_create(tenant_id=tenant.id, url="http://127.0.0.1:9/a", events=["*"])
    chosen = [services.webhook_subscription_test(subscription=subscription).pk for _ in range(deliveries)]
    WebhookDelivery.objects.filter(pk__in=chosen).update(status="failed", next_attempt_at=None)
    with CaptureQueriesContext(connection) as captured:
        assert services.webhook_deliveries_redeliver(delivery_ids=chosen) == deliveries
    assert set(WebhookDelivery.objects.filter(pk__in=chosen).values_list("status", flat=True)) == {"pending"}
    return [query["sql"] for query in captured.captured_queries]


def test_redelivering_many_costs_what_redelivering_one_does(tenant):
    one, twelve = _redeliver_statements(tenant, 1), _redeliver_statements(tenant, 12)
    assert len(twelve) == len(one)
    # The chosen deliveries' ids, then one UPDATE of them all (besides the transaction's savepoints).
    assert [sql.split()[0] for sql in twelve if not sql.upper().startswith(("SAVEPOINT", "RELEASE"))] == ["SELECT", "UPDATE"]


def test_the_change_page_lists_recent_deliveries(admin_user, client, tenant):
    subscription = services.webhook_subscription_create(tenant_id=tenant.id, url="http://127.0.0.1:9/a", events=["*"])
    services.webhook_subscription_test(subscription=subscription)
    client.force_login(admin_user)

    page = client.get(f"/admin/events/webhooksubscription/{subscription.pk}/change/").content.decode()

    assert "webhook.test" in page and "pending" in page
