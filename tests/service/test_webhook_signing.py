"""Webhook signatures as Standard Webhooks specifies: a known answer from the specification's
own test vector, and agreement with its reference library on fresh secrets and bodies."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

from service.webhooks import signing


def test_the_specifications_test_vector() -> None:
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    answer = signing.signature(
        secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, b'{"test": 2432232314}'
    )
    assert answer == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_fresh_secrets_verify_with_the_reference_library() -> None:
    for n in range(20):
        secret = signing.new_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == signing.SECRET_BYTES
        body = f'{{"type":"audit.succeeded","data":{{"n":{n},"text":"é ü"}}}}'.encode()
        now = int(datetime.now(UTC).timestamp())
        headers = signing.headers(secret, f"msg_{n}", now, body)
        assert Webhook(secret).verify(body, headers)["data"]["n"] == n


def test_secrets_differ() -> None:
    assert len({signing.new_secret() for _ in range(100)}) == 100
