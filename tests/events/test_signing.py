"""Signatures verify with the Standard Webhooks reference library."""

import json
import time

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from lms.events import signing


def test_a_signed_delivery_verifies_with_the_standard_webhooks_library():
    secret = signing.secret_generate()
    body = json.dumps({"id": "e1", "type": "webhook.test", "data": {}}).encode()
    headers = signing.headers(secret=secret, message_id="msg_1", timestamp=int(time.time()), body=body)

    assert Webhook(secret).verify(body, headers) == json.loads(body)
    assert secret.startswith("whsec_") and headers["webhook-signature"].startswith("v1,")


def test_a_changed_body_or_another_secret_fails_verification():
    secret = signing.secret_generate()
    body = b'{"a":1}'
    headers = signing.headers(secret=secret, message_id="msg_1", timestamp=int(time.time()), body=body)

    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(signing.secret_generate()).verify(body, headers)
