"""The API against its own OpenAPI schema, fuzzed by Schemathesis on both databases.

Every operation of `/openapi.json` is called with requests generated from its schema — valid
ones with the path naming the seeded project and audit (so routes answer from real rows, not
only with 404), and invalid ones — by a project key that holds every scope (the admin key on
the admin routes). The run is bounded and reproducible: a fixed number of examples per
operation and mode, derandomised, not shrunk.

Every response passes Schemathesis' checks: among them, no server error, a status code the
schema declares, a body that matches the declared response schema, the declared content type
and headers, invalid requests refused and valid ones accepted. Two checks are left out where
the route's contract differs, deliberately (`excluded`):

- that a request violating the schema is refused, on the ingestion routes: a batch is answered
  200 with each invalid event rejected by itself (its index, field and reason), so one bad
  event never costs the rest of its batch;
- that a request the schema admits is accepted, where a rule cannot be written in JSON Schema:
  a time zone must be an IANA name, a project's name is unique, a window's start comes before
  its end, a cursor is one the API returned, a vendor's payload carries a user and an event.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi import checks
from sqlalchemy import Engine

from tests.service.conftest import ADMIN_KEY, finish_audit, make_project
from tests.service.factories import native_batch

EXAMPLES = 20
SEGMENT = {
    f"POST /v1/{kind}"
    for kind in ("batch", "track", "identify", "page", "screen", "group", "alias")
}
VENDOR = SEGMENT | {
    "POST /batch/",
    "POST /capture/",
    "POST /e/",
    "POST /i/v0/e/",  # PostHog
    "POST /2/httpapi",  # Amplitude
    "GET /track",
    "POST /track",
    "POST /import",  # Mixpanel
}
# routes that refuse some schema-valid requests, for a rule JSON Schema cannot state
UNSTATED_RULES = VENDOR | {
    "POST /v1/projects",  # a project's name is unique; a time zone is an IANA name
    "PATCH /v1/projects/{project_id}",  # a time zone is an IANA name
    "POST /v1/audits",  # a window's start is before its end
    "GET /v1/audits",  # a cursor is one the API returned
    "GET /v1/audits/{audit_id}/users",  # a cursor is one the API returned
    "PUT /v1/projects/{project_id}/mappings",  # a reward has no cost property, a response no value
    "POST /v1/projects/{project_id}/webhooks",  # a receiver's URL resolves to a public address
    "POST /v1/projects/{project_id}/schedules",  # a cron expression has slots
}
# routes that answer 200 to a batch holding invalid events, each rejected by itself
PER_EVENT = VENDOR | {"POST /v1/events"}


def excluded(label: str) -> list[Any]:
    """Schemathesis' checks left out for one operation, for the reasons above."""
    return [
        *([checks.positive_data_acceptance] if label in UNSTATED_RULES else []),
        *([checks.negative_data_rejection] if label in PER_EVENT else []),
    ]


def fuzz(
    operation: Any, mode: GenerationMode, pinned: dict[str, Any], key: str, statuses: list[int]
) -> None:
    """Call one operation with `EXAMPLES` generated requests, noting each answer's status;
    raises what the checks find."""
    auth = {"Authorization": f"Bearer {key}"}

    @given(case=operation.as_strategy(mode, path_parameters=pinned or None))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call_and_validate(headers=auth, excluded_checks=excluded(operation.label))
        statuses.append(response.status_code)

    call()
    if mode is GenerationMode.POSITIVE:
        # the requests the schema gives as examples, each sent too: valid ones that generated
        # data reaches only by chance (a receiver's URL at a public address)
        for strategy in operation.get_strategies_from_examples(path_parameters=pinned or None):
            sent_as_given(strategy, operation.label, auth, statuses)


def sent_as_given(strategy: Any, label: str, auth: dict[str, str], statuses: list[int]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=1,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def call(case: Any) -> None:
        response = case.call_and_validate(headers=auth, excluded_checks=excluded(label))
        statuses.append(response.status_code)

    call()


def test_api_conforms_to_its_schema(client: TestClient, clean_database: Engine) -> None:
    project = make_project(clean_database)
    assert client.post("/v1/events", json=native_batch(300), headers=project.auth).is_success
    # two audits: the seeded one has a report before it to be compared with (`/diff`)
    for _ in range(2):
        audit = client.post("/v1/audits", json={}, headers=project.auth).json()
        assert finish_audit(client, project, clean_database, audit["id"])["status"] == "succeeded"
    # a key of its own for the key-deletion route, so fuzzing it never revokes the key in use
    spare = client.post(f"/v1/projects/{project.id}/keys", json={}, headers=project.auth).json()
    real = {"project_id": project.id, "audit_id": audit["id"], "key_id": spare["id"]}
    # a webhook and a schedule to read, and one of each for their deletion routes
    owned = f"/v1/projects/{project.id}"
    hook = {"url": "https://93.184.216.34/hooks", "events": ["audit.failed"]}
    made = {
        (kind, n): client.post(f"{owned}/{kind}", json=body, headers=project.auth).json()["id"]
        for kind, body in (("webhooks", hook), ("schedules", {"cron": "0 6 * * 1"}))
        for n in (0, 1)
    }
    real |= {"webhook_id": made["webhooks", 0], "schedule_id": made["schedules", 0]}
    deleted = {
        "DELETE /v1/projects/{project_id}/webhooks/{webhook_id}": {
            "webhook_id": made["webhooks", 1]
        },
        "DELETE /v1/projects/{project_id}/schedules/{schedule_id}": {
            "schedule_id": made["schedules", 1]
        },
    }
    api = schemathesis.openapi.from_asgi("/openapi.json", client.app)

    failures: list[str] = []
    answered: list[str] = []  # the operations that accepted a generated request (2xx)
    for result in api.get_all_operations():
        operation = result.ok()
        key = ADMIN_KEY if operation.path == "/v1/projects" else project.key
        names = {p.name for p in operation.path_parameters}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            # valid requests name the seeded project and audit; invalid ones anything
            positive = mode is GenerationMode.POSITIVE
            pinned = {k: v for k, v in real.items() if k in names and (positive or k == "key_id")}
            if positive:
                pinned |= deleted.get(operation.label, {})
            statuses: list[int] = []
            try:
                fuzz(operation, mode, pinned, key, statuses)
            except Unsatisfiable:
                continue  # no invalid request exists (a route without parameters)
            except (Exception, BaseExceptionGroup) as failure:  # every operation's is reported
                failures.append(f"{operation.label} [{mode.value}]: {str(failure)[:1500]}")
            if positive and any(200 <= status < 300 for status in statuses):
                answered.append(operation.label)

    assert not failures, "\n\n".join(failures)
    # the fuzzing reached the routes' work, not only their refusals (the vendor routes, whose
    # keys and shapes generated requests seldom get right, are fuzzed for their refusals)
    own = {op.ok().label for op in api.get_all_operations() if op.ok().path.startswith("/v1/")}
    assert own - SEGMENT <= set(answered), sorted(own - SEGMENT - set(answered))
