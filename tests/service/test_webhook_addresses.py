"""No webhook to loopback, private, link-local or other non-public addresses unless the
operator allows it: refused at registration, and again at delivery (a name may resolve
elsewhere by then). On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.app import create_app
from service.storage.db import make_sessionmaker, transaction
from service.webhooks import endpoints
from service.webhooks.addresses import RefusedTarget, resolve
from service.webhooks.delivery import DeliveryPolicy, deliver_due
from service.webhooks.outbox import announce
from tests.service.conftest import ProjectKey, settings_for
from tests.service.receivers import receiver

NOT_PUBLIC = [
    "http://127.0.0.1/hooks",
    "http://127.1.2.3:8080/hooks",
    "http://localhost/hooks",
    "http://10.0.0.5/hooks",
    "http://172.16.0.1/hooks",
    "http://192.168.1.1/hooks",
    "http://169.254.169.254/latest/meta-data",  # the cloud metadata service
    "http://100.64.0.1/hooks",  # carrier-grade NAT
    "http://0.0.0.0/hooks",
    "http://[::1]/hooks",
    "http://[fe80::1]/hooks",
    "http://[fc00::1]/hooks",
    "http://[::ffff:127.0.0.1]/hooks",  # loopback written as IPv6
    "http://224.0.0.1/hooks",
    # IPv6 forms that lead to an IPv4 loopback or private address
    "http://[64:ff9b::7f00:1]/hooks",  # NAT64
    "http://[64:ff9b:1::a00:5]/hooks",  # local-use NAT64, to 10.0.0.5
    "http://[2002:7f00:1::]/hooks",  # 6to4
    "http://[::127.0.0.1]/hooks",  # IPv4-compatible
    "http://[::ffff:0:7f00:1]/hooks",  # SIIT IPv4-translated
    "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hooks",  # Teredo, to 127.0.0.1
    "http://[fec0::1]/hooks",  # deprecated site-local
]


@pytest.mark.parametrize("url", NOT_PUBLIC)
def test_non_public_addresses_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(RefusedTarget, match="not a public address"):
        resolve(url, allow_private=False)
    assert resolve(url, allow_private=True).port in (80, 8080)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://93.184.216.34/x", "must be http or https"),
        ("http:///x", "has no host"),
        ("http://user:pw@93.184.216.34/x", "credentials"),
        ("http://93.184.216.34:99999/x", "not a URL"),
        ("http://93.184.216.34:0/x", "port 0 is not a port"),
        ("http://no-such-host.invalid/x", "does not resolve"),
    ],
)
def test_urls_that_are_no_receivers_are_refused(url: str, reason: str) -> None:
    with pytest.raises(RefusedTarget, match=reason):
        resolve(url, allow_private=True)


def test_a_public_address_is_accepted() -> None:
    target = resolve("https://93.184.216.34/hooks?x=1", allow_private=False)
    assert (str(target.address), target.port) == ("93.184.216.34", 443)
    assert target.host == "93.184.216.34"


@pytest.fixture
def strict_client(clean_database: Engine, database_url: str) -> Iterator[TestClient]:
    """The default settings: non-public receivers refused."""
    with TestClient(create_app(settings_for(database_url, run_audits_in_process=False))) as c:
        yield c


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/hooks", "http://169.254.169.254/x"])
def test_registration_refuses_a_non_public_receiver(
    strict_client: TestClient, project: ProjectKey, url: str
) -> None:
    answer = strict_client.post(
        f"/v1/projects/{project.id}/webhooks",
        json={"url": url, "events": ["audit.succeeded"]},
        headers=project.auth,
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"] == "RefusedTarget"
    assert "not a public address" in answer.json()["detail"]
    listed = strict_client.get(f"/v1/projects/{project.id}/webhooks", headers=project.auth)
    assert listed.json() == []


def test_registration_refuses_port_zero(strict_client: TestClient, project: ProjectKey) -> None:
    answer = strict_client.post(
        f"/v1/projects/{project.id}/webhooks",
        json={"url": "https://93.184.216.34:0/hooks", "events": ["audit.succeeded"]},
        headers=project.auth,
    )
    assert answer.status_code == 422, answer.text
    assert "url: port 0 is not a port" in answer.json()["detail"]


def test_registration_refuses_unknown_events(
    strict_client: TestClient, project: ProjectKey
) -> None:
    answer = strict_client.post(
        f"/v1/projects/{project.id}/webhooks",
        json={"url": "https://93.184.216.34/hooks", "events": ["audit.nope"]},
        headers=project.auth,
    )
    assert answer.status_code == 422
    assert "events" in answer.text


def test_delivery_refuses_a_host_that_now_resolves_to_loopback(
    project: ProjectKey, clean_database: Engine
) -> None:
    """Registered while allowed (as a name that resolved elsewhere then would be); delivered
    under a policy that refuses it: an attempt logged as refused, nothing sent."""
    factory = make_sessionmaker(clean_database)
    with receiver() as hook:
        url = hook.url.replace("127.0.0.1", "localhost")
        with transaction(factory) as session:
            endpoints.create_endpoint(
                session, project_id=project.id, url=url, events=["audit.succeeded"],
                allow_private=True,
            )  # fmt: skip
            announce(session, project_id=project.id, event_type="audit.succeeded", data={})
        strict = DeliveryPolicy(allow_private=False, retry_base_s=600.0)
        assert deliver_due(factory, worker="w", policy=strict) == 1
        assert hook.received == []
        with factory() as session:
            (endpoint,) = endpoints.list_endpoints(session, project.id)
            (made,) = endpoints.list_deliveries(
                session, project_id=project.id, endpoint_id=endpoint.id, limit=10
            )
        assert made["status"] == "pending"
        (attempt,) = made["attempts"]
        assert attempt["status_code"] is None
        assert attempt["error"].startswith("refused: url: host 'localhost' resolves to")
