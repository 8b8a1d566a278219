"""The real server and CLI, end to end: curl posts a gzip NDJSON batch twice."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
from sqlalchemy import Engine

from tests.service.factories import gzip_ndjson, native_batch
from tests.service.servers import BIN, serve


def cli(*args: str, database_url: str) -> str:
    return subprocess.run(
        [str(BIN / "retention-audit"), *args],
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_curl_gzip_batch_twice_then_stats(
    clean_database: Engine, database_url: str, tmp_path: object
) -> None:
    created = json.loads(cli("project", "create", "shop", database_url=database_url))
    key = created["key"]
    body_path = f"{tmp_path}/batch.ndjson.gz"
    with open(body_path, "wb") as f:
        f.write(gzip_ndjson(native_batch(1000)))
    with serve(database_url) as base:
        curl = [
            "curl", "-sS", "-X", "POST", f"{base}/v1/events",
            "-H", f"Authorization: Bearer {key}",
            "-H", "Content-Type: application/x-ndjson",
            "-H", "Content-Encoding: gzip",
            "--data-binary", f"@{body_path}",
        ]  # fmt: skip
        first = json.loads(subprocess.run(curl, check=True, capture_output=True).stdout)
        second = json.loads(subprocess.run(curl, check=True, capture_output=True).stdout)
        stats = httpx.get(
            f"{base}/v1/projects/{created['id']}/stats",
            headers={"Authorization": f"Bearer {key}"},
        ).json()
    assert (first["accepted"], first["duplicate"], first["rejected"]) == (1000, 0, 0)
    assert (second["accepted"], second["duplicate"]) == (0, 1000)
    assert stats["events"] == 1000


def test_cli_keys(clean_database: Engine, database_url: str) -> None:
    created = json.loads(cli("project", "create", "keys", database_url=database_url))
    extra = json.loads(
        cli("key", "create", str(created["id"]), "--scope", "ingest", database_url=database_url)
    )
    assert extra["scopes"] == ["ingest"]
    listed = json.loads(cli("key", "list", str(created["id"]), database_url=database_url))
    assert [k["scopes"] for k in listed] == [["ingest", "manage", "read"], ["ingest"]]
    cli("key", "revoke", str(created["id"]), str(extra["id"]), database_url=database_url)
    listed = json.loads(cli("key", "list", str(created["id"]), database_url=database_url))
    assert [k["revoked"] for k in listed] == [False, True]
