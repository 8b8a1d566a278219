"""Where event files come from: local paths, globs, standard input (`-`) and URLs of any file
system fsspec knows (object storage, `memory://`, `file://`), each opened as a stream of bytes,
gzip undone, with the format it holds (NDJSON, a JSON array, CSV or Parquet)."""

from __future__ import annotations

import glob
import gzip
import io
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import IO, Any, Literal

from service.ingestion.payloads import GZIP_MAGIC

Format = Literal["ndjson", "json", "csv", "parquet"]
PARQUET_MAGIC = b"PAR1"
STDIN = "-"
_GLOB = ("*", "?", "[")
_SUFFIXES: dict[str, Format] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}


class SourceError(Exception):
    """An input that cannot be opened, named as it was given."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Source:
    """One input file: its name as messages show it, how to open its raw bytes, and its size
    in bytes where known (for progress)."""

    name: str
    open_raw: Callable[[], IO[bytes]]
    size: int | None = None

    @contextmanager
    def opened(self) -> Iterator[tuple[Format, IO[bytes], Callable[[], int]]]:
        """Its format, its bytes (gzip, recognised by its magic bytes, undone), and how many
        of its bytes as stored have been read so far; closed on leaving."""
        with ExitStack() as stack:
            try:
                raw = stack.enter_context(self.open_raw())
                stream: Any = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
                if stream.peek(2)[:2] == GZIP_MAGIC:
                    stream = io.BufferedReader(gzip.GzipFile(fileobj=stream))
                    stack.enter_context(stream)
                head: bytes = stream.peek(4096)[:4096]
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                raise SourceError(self.name, f"cannot read: {exc}") from None

            def position() -> int:
                try:
                    return int(raw.tell())
                except (OSError, ValueError):
                    return 0

            yield _format(self.name, head), stream, position


def _format(name: str, head: bytes) -> Format:
    """By the name's suffix (after `.gz`); JSON by its first character (an array or lines);
    a name without a known suffix (standard input) by its content."""
    lowered = name.lower().removesuffix(".gz")
    suffix = next((s for s in _SUFFIXES if lowered.endswith(s)), None)
    if head.startswith(PARQUET_MAGIC) or (suffix and _SUFFIXES[suffix] == "parquet"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"["):
        return "json"
    if suffix is None and text and not text.startswith(b"{"):
        return "csv"
    return "ndjson"


def sources(inputs: Sequence[str | PathLike[str]]) -> list[Source]:
    """The files `inputs` name, in order: a glob gives its matches sorted, `-` standard input,
    a URL (`scheme://…`, globs allowed) the files fsspec finds there."""
    found: list[Source] = []
    for name in inputs:
        given = os.fspath(name)
        if given == STDIN:
            found.append(Source("<stdin>", lambda: sys.stdin.buffer))
        elif "://" in given:
            found.extend(_remote(given))
        elif any(char in given for char in _GLOB):
            matches = sorted(glob.glob(given, recursive=True))
            if not matches:
                raise SourceError(given, "no file matches")
            found.extend(_local(Path(match)) for match in matches)
        else:
            found.append(_local(Path(given)))
    return found


def _local(path: Path) -> Source:
    try:
        size: int | None = path.stat().st_size
    except OSError:
        size = None
    return Source(str(path), lambda: path.open("rb"), size)


def _remote(url: str) -> list[Source]:
    import fsspec

    try:
        files = fsspec.open_files(url, mode="rb")
    except (OSError, ValueError, ImportError) as exc:
        raise SourceError(url, f"cannot read: {exc}") from None
    if not files:
        raise SourceError(url, "no file matches")
    found = []
    for file in files:
        name = file.fs.unstrip_protocol(file.path)
        try:
            size = file.fs.size(file.path)
        except (OSError, ValueError):
            size = None
        found.append(Source(name, file.open, size))
    return found
