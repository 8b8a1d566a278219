"""Request bodies: bounded reading, gzip decoding (bomb-proof), JSON and NDJSON parsing.

Every ingestion route (native and vendor adapters) reads its body through here, so the size
limits and the error messages are the same everywhere.
"""

from __future__ import annotations

import codecs
import math
import re
import zlib
from typing import Any

import orjson
from starlette.requests import Request

from service.errors import MalformedBody, PayloadTooLarge

GZIP_MAGIC = b"\x1f\x8b"


async def read_body(request: Request, *, max_bytes: int) -> bytes:
    """The raw body, refusing (413) anything over `max_bytes` as sent, before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {max_bytes} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"body exceeds the limit of {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode(body: bytes, *, content_encoding: str | None, max_bytes: int) -> bytes:
    """Undo gzip (declared, or detected by its magic bytes), never inflating past `max_bytes`."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip") or body[:2] == GZIP_MAGIC:
        return gunzip(body, max_bytes=max_bytes)
    if encoding in ("deflate",):
        return _inflate(body, zlib.MAX_WBITS, max_bytes=max_bytes)
    if encoding not in ("", "identity"):
        raise MalformedBody(f"unsupported Content-Encoding {content_encoding!r}")
    if len(body) > max_bytes:
        raise PayloadTooLarge(f"body exceeds the limit of {max_bytes} bytes")
    return body


def gunzip(body: bytes, *, max_bytes: int) -> bytes:
    # 16 + MAX_WBITS: expect a gzip header and trailer; members may be concatenated.
    out: list[bytes] = []
    total = 0
    data = body
    while data:
        chunk, data = _inflate_member(data, max_bytes=max_bytes - total)
        total += len(chunk)
        out.append(chunk)
    return b"".join(out)


def _inflate_member(data: bytes, *, max_bytes: int) -> tuple[bytes, bytes]:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        chunk = inflater.decompress(data, max_bytes + 1)
    except zlib.error as exc:
        raise MalformedBody(f"body is not valid gzip: {exc}") from exc
    if len(chunk) > max_bytes or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed body exceeds the limit of {max_bytes} bytes")
    if not inflater.eof:
        raise MalformedBody("gzip body is truncated")
    return chunk, inflater.unused_data


def _inflate(body: bytes, wbits: int, *, max_bytes: int) -> bytes:
    inflater = zlib.decompressobj(wbits)
    try:
        chunk = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise MalformedBody(f"body is not valid deflate data: {exc}") from exc
    if len(chunk) > max_bytes or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed body exceeds the limit of {max_bytes} bytes")
    return chunk


# What an unreadable value is read as, so that the event holding it is rejected on its own:
# text that was not valid UTF-8 (invalid bytes, a lone surrogate escape), and a number that is
# not finite (NaN, Infinity, or a literal beyond the double range). Both begin with NUL, which
# no stored text may hold, so no accepted event can contain them.
UNREADABLE_TEXT = "\x00\ufffd"
NON_FINITE_NUMBER = "\x00\ufffe"
_UNREADABLE_ESCAPE = "\\u0000\\ufffd"
_NON_FINITE_LITERAL = '"\\u0000\\ufffe"'

# The refusals that marking may cure: text, surrogates, NaN/Infinity, overflowing numbers.
_MARKABLE = re.compile(r"UTF-8|surrogate|unexpected character|infinity|digit after sign")
_ESCAPE = re.compile(r"\\u[0-9a-fA-F]{4}")
_NUMBER = re.compile(r"-?(?:NaN|Infinity|[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)")
# How much text marking may re-parse for one document (characters): a batch of ordinary size
# may hold thousands of unreadable values, a body at the size limit a few dozen.
_MARKING_BUDGET = 1 << 30


def _unreadable_bytes(error: UnicodeError) -> tuple[str, int]:
    """Invalid UTF-8 inside a JSON string becomes the escaped `UNREADABLE_TEXT` (completing
    the escape when a backslash stands before it); outside a string it stays invalid JSON."""
    assert isinstance(error, UnicodeDecodeError)
    before = error.object[: error.start]
    backslashes = len(before) - len(before.rstrip(b"\\"))
    replacement = _UNREADABLE_ESCAPE[1:] if backslashes % 2 else _UNREADABLE_ESCAPE
    return replacement, error.end


codecs.register_error("retention_audit.unreadable", _unreadable_bytes)


def loads(text: bytes | str) -> Any:
    """Parse one JSON document with orjson, the one parser (no other reads a request).

    Raises `orjson.JSONDecodeError` naming why the document is refused: not JSON, nested
    deeper than orjson's 1,024 levels. Text that is not valid UTF-8 and numbers that are not
    finite do not refuse the document: they are read as `UNREADABLE_TEXT` and
    `NON_FINITE_NUMBER`, so that the event holding them is rejected alone, as is an event
    nested deeper or holding longer text than `service.ingestion.events` allows
    (`unstorable`), and the rest of its batch is kept. Integers beyond 64 bits are read as
    floating-point numbers (as orjson does); beyond the double range they are not finite.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as refusal:
        if not _MARKABLE.search(str(refusal)):
            raise
        try:
            return _loads_marked(text)
        except orjson.JSONDecodeError:
            raise refusal from None


def _loads_marked(text: bytes | str) -> Any:
    """orjson again, each unreadable value it stops at replaced by its marker where orjson
    says it is (so nothing but orjson decides what is inside a string)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="retention_audit.unreadable")
    budget = _MARKING_BUDGET
    while budget > 0:
        budget -= len(text)
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            marked = _marked_at(text, exc.pos, str(exc))
            if marked is None:
                raise
            text = marked
    raise orjson.JSONDecodeError("too many unreadable values; send smaller batches", "", 0)


def _marked_at(text: str, pos: int, reason: str) -> str | None:
    """`text` with the value orjson refused at `pos` replaced by its marker, or None when
    what it refused there is not an unreadable value (it is then simply not JSON)."""
    if "surrogate" in reason:
        found = _ESCAPE.match(text, pos)
        marker = _UNREADABLE_ESCAPE
    else:
        start = pos - 1 if "digit after sign" in reason and text[pos - 1 : pos] == "-" else pos
        found = _NUMBER.match(text, start)
        marker = _NON_FINITE_LITERAL
        number = found.group(0) if found is not None else ""
        if number[-1:].isdigit() and math.isfinite(float(number)):
            return None
    if found is None:
        return None
    return text[: found.start()] + marker + text[found.end() :]


def parse_batch(body: bytes) -> list[Any]:
    """A batch as a list of items: a JSON array, or NDJSON (one JSON value a line).

    A single JSON object is a batch of one. Malformed input raises `MalformedBody` naming
    every bad line (1-based) and why, and nothing of the batch is taken.
    """
    stripped = body.lstrip()
    if not stripped:
        raise MalformedBody("body is empty; send a JSON array or NDJSON")
    if stripped[:1] == b"[":
        try:
            items = loads(stripped)
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MalformedBody(f"body is not valid JSON: {exc}") from exc
        if not isinstance(items, list):
            raise MalformedBody("body is not a JSON array")
        return items
    if stripped[:1] == b"{":
        # One JSON object (perhaps pretty-printed over several lines) is a batch of one.
        try:
            single = loads(stripped)
        except (orjson.JSONDecodeError, UnicodeDecodeError):
            pass
        else:
            return [single]
    return parse_ndjson(stripped)


def parse_ndjson(body: bytes) -> list[Any]:
    items: list[Any] = []
    errors: list[dict[str, Any]] = []
    for number, line in enumerate(body.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(loads(line))
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            errors.append({"line": number, "reason": str(exc)})
    if errors:
        first = errors[0]
        raise MalformedBody(
            f"line {first['line']} is not valid JSON: {first['reason']}",
            extra={"lines": errors[:100]},
        )
    return items
