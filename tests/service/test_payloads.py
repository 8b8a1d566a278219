"""Body decoding and parsing: gzip (bounded), JSON arrays, NDJSON with line-numbered errors."""

from __future__ import annotations

import gzip
import zlib

import pytest

from service.errors import MalformedBody, PayloadTooLarge
from service.ingestion import payloads
from service.ingestion.events import (
    MAX_TEXT,
    NON_FINITE,
    NUL_TEXT,
    TOO_DEEP,
    TOO_LONG,
    UNREADABLE,
    unstorable,
)
from service.ingestion.payloads import (
    NON_FINITE_NUMBER,
    UNREADABLE_TEXT,
    decode,
    parse_batch,
)


def json_nested(levels: int) -> dict[str, object]:
    """An object (level 1) whose `a` holds lists nested to `levels` levels in all."""
    value: object = 1
    for _ in range(levels - 1):
        value = [value]
    return {"a": value}


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


def test_non_finite_literals_are_marked_so_the_event_can_be_rejected_alone() -> None:
    items = parse_batch(b'[{"cost": NaN}, {"cost": 1e999}, {"cost": -Infinity}, {"cost": 1}]')
    assert items == [
        {"cost": NON_FINITE_NUMBER},
        {"cost": NON_FINITE_NUMBER},
        {"cost": NON_FINITE_NUMBER},
        {"cost": 1},
    ]


def test_a_literal_that_looks_non_finite_inside_a_string_is_text() -> None:
    assert parse_batch(b'[{"a": "NaN 1e999"}, {"b": NaN}]') == [
        {"a": "NaN 1e999"},
        {"b": NON_FINITE_NUMBER},
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'["\\ud800"]', [UNREADABLE_TEXT]),
        (b'["a\\udc00b"]', ["a" + UNREADABLE_TEXT + "b"]),
        (b'["\\ud800\\u0041"]', [UNREADABLE_TEXT + "A"]),
        (b'["\\ud83d\\ude00", "\\ud800"]', ["\U0001f600", UNREADABLE_TEXT]),
        (b'["x\xffy"]', ["x" + UNREADABLE_TEXT + "y"]),
        # UTF-8's encoding of a surrogate: three invalid bytes, each marked
        (b'[{"\xed\xa0\x80": 1}]', [{UNREADABLE_TEXT * 3: 1}]),
        (b'["a\\\xff"]', ["a" + UNREADABLE_TEXT]),  # a backslash "escaping" an invalid byte
        # An escaped backslash followed by "ud800" is plain text, not a surrogate.
        (b'["\\\\ud800", "\\ud800"]', ["\\ud800", UNREADABLE_TEXT]),
    ],
)
def test_unreadable_text_is_marked_in_its_own_string_only(text: bytes, expected: object) -> None:
    assert parse_batch(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"[" * 1025 + b"]" * 1025, "depth limit"),
        (b'["a"\xff]', "not valid"),  # an invalid byte outside a string is no text to mark
        (b'{"a": 1}\n{"a": NaN, }\n', "line 2"),  # marked, and still not JSON
    ],
)
def test_what_the_parser_cannot_read_refuses_the_document(text: bytes, reason: str) -> None:
    with pytest.raises(MalformedBody, match=reason):
        parse_batch(text)


def test_the_deepest_document_the_parser_reads() -> None:
    assert parse_batch(b"[" * 1024 + b"]" * 1024)


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ({"a": [[1]]}, None),
        (json_nested(64), None),
        (json_nested(65), ("a" + "[0]" * 63, TOO_DEEP)),
        (json_nested(5000), ("a" + "[0]" * 63, TOO_DEEP)),
        ({"a": "x" * MAX_TEXT}, None),
        ({"a": ["x" * (MAX_TEXT + 1)]}, ("a[0]", TOO_LONG)),
        ({"k" * (MAX_TEXT + 1): 1}, ("k" * 300 + "…", TOO_LONG)),
        ({"a": {"b\x00": 1}}, ("a.b\\u0000", NUL_TEXT)),
        ({"a": [1.0, float("nan")]}, ("a[1]", NON_FINITE)),
        ({"a": NON_FINITE_NUMBER}, ("a", NON_FINITE)),
        ({"a": "x" + UNREADABLE_TEXT}, ("a", UNREADABLE)),
    ],
)
def test_unstorable_names_where_and_why(value: object, found: object) -> None:
    assert unstorable(value) == found


def test_integers_beyond_64_bits_are_read_as_floating_point() -> None:
    assert parse_batch(b"[18446744073709551615, 18446744073709551616]") == [
        18446744073709551615,
        18446744073709551616.0,
    ]


def test_empty_body() -> None:
    with pytest.raises(MalformedBody, match="empty"):
        parse_batch(b"  \n")


def test_marking_stops_within_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    body = b"[NaN, NaN, NaN]"
    monkeypatch.setattr(payloads, "_MARKING_BUDGET", 3 * len(body))
    with pytest.raises(MalformedBody, match="not valid JSON"):
        parse_batch(body)  # three markings and the final parse would need four parses
    monkeypatch.setattr(payloads, "_MARKING_BUDGET", 4 * len(body) + 100)
    assert parse_batch(body) == [NON_FINITE_NUMBER] * 3
