"""Body decoding and parsing: gzip (bounded), JSON arrays, NDJSON with line-numbered errors."""

from __future__ import annotations

import gzip
import zlib

import pytest

from service.errors import MalformedBody, PayloadTooLarge
from service.ingestion.payloads import decode, parse_batch


def test_gzip_is_detected_by_magic_bytes_without_a_header() -> None:
    body = gzip.compress(b'[{"a": 1}]')
    assert parse_batch(decode(body, content_encoding=None, max_bytes=1000)) == [{"a": 1}]


def test_concatenated_gzip_members() -> None:
    body = gzip.compress(b'{"a": 1}\n') + gzip.compress(b'{"a": 2}\n')
    assert parse_batch(decode(body, content_encoding="gzip", max_bytes=1000)) == [
        {"a": 1},
        {"a": 2},
    ]


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (50 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 100_000
    with pytest.raises(PayloadTooLarge, match="decompressed"):
        decode(bomb, content_encoding="gzip", max_bytes=1024 * 1024)


def test_corrupt_gzip_is_malformed() -> None:
    with pytest.raises(MalformedBody, match="gzip"):
        decode(b"\x1f\x8bnot really gzip", content_encoding="gzip", max_bytes=1000)


def test_deflate() -> None:
    assert decode(zlib.compress(b"[]"), content_encoding="deflate", max_bytes=100) == b"[]"


def test_uncompressed_body_over_the_limit() -> None:
    with pytest.raises(PayloadTooLarge):
        decode(b"x" * 101, content_encoding=None, max_bytes=100)


def test_ndjson_errors_name_every_bad_line() -> None:
    body = b'{"a": 1}\n{"a": \n\n{"a": 3}\nnope\n'
    with pytest.raises(MalformedBody) as info:
        parse_batch(body)
    assert [e["line"] for e in info.value.extra["lines"]] == [2, 5]
    assert "line 2" in info.value.detail


def test_json_array_error() -> None:
    with pytest.raises(MalformedBody, match="not valid JSON"):
        parse_batch(b'[{"a": 1},')


def test_single_pretty_printed_object_is_a_batch_of_one() -> None:
    assert parse_batch(b'{\n  "a": 1\n}\n') == [{"a": 1}]


def test_non_finite_literals_parse_so_the_event_can_be_rejected_alone() -> None:
    items = parse_batch(b'[{"cost": NaN}, {"cost": 1e999}, {"cost": 1}]')
    assert items[2] == {"cost": 1}
    assert items[1]["cost"] == float("inf")


def test_empty_body() -> None:
    with pytest.raises(MalformedBody, match="empty"):
        parse_batch(b"  \n")
