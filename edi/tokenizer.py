"""The one segment source: X12 text (a path, bytes, a string or a binary file) to raw segments.

Every reader and the validator take their segments from ``SegmentSource.batches``: lists
of segment texts, split on the terminator that the ISA names, a block of input at a
time, so a 1 GB 835 costs a block and the longest segment, never the file.

What the source forgives, in this one place, and says in ``notes`` (for the log and the
report): a UTF-8 byte-order mark before the ISA (reliability test 51), whitespace before
the ISA, line breaks after a terminator, and Ctrl-Z (0x1A) / NUL padding after the last
segment.  What it refuses, with an ``X12ParseError`` naming the place: text that is not
ASCII, a file without an ISA, and one segment longer than ``max_segment`` characters
(``DEFAULT_MAX_SEGMENT``, 64 MB; ``BHCLAIMS_MAX_SEGMENT_BYTES`` overrides), so memory
stays bounded by about twice the longest segment accepted.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from itertools import repeat
from pathlib import Path
from typing import BinaryIO, cast

from edi.x12 import ISA_LENGTH, Separators, X12ParseError, detect_separators

DEFAULT_MAX_SEGMENT = 64 * 1024 * 1024
BLOCK_SIZE = 1 << 20
BOM = b"\xef\xbb\xbf"
LINE_BREAKS = "\r\n"
PADDING = "\x1a\x00\r\n\t "

NOTE_BOM = "byte-order mark before ISA ignored"
NOTE_PADDING = "Ctrl-Z/NUL padding after the last segment ignored"


def max_segment_from_env() -> int:
    value = os.environ.get("BHCLAIMS_MAX_SEGMENT_BYTES", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_MAX_SEGMENT


class SegmentSource:
    """Raw segments of one input, read once.  ``separators`` are known after construction."""

    def __init__(
        self,
        data: str | bytes | Path | BinaryIO,
        *,
        source: str | None = None,
        max_segment: int | None = None,
        block_size: int = BLOCK_SIZE,
    ):
        self.notes: list[str] = []
        self.max_segment = max_segment or max_segment_from_env()
        self._block_size = block_size
        self._handle: BinaryIO | None = None
        self._text: str | None = None
        if isinstance(data, str) and source is None and not isinstance(data, Path):
            self.source = "<x12>"
            self._text = data
        elif isinstance(data, Path):
            self.source = source or str(data)
            self._handle = open(data, "rb")  # noqa: SIM115 - closed when read or on error
        elif isinstance(data, bytes):
            self.source = source or "<x12>"
            self._handle = io.BytesIO(data)
        elif isinstance(data, str):
            self.source = source or "<x12>"
            self._text = data
        else:
            self.source = source or "<x12>"
            self._handle = data
        self._offset = 0
        try:
            self._head = self._start()
            self.separators: Separators = detect_separators(self._head)
        except X12ParseError as exc:
            self.close()
            raise X12ParseError(str(exc), source=self.source) from None

    # --- reading ----------------------------------------------------------------------------------

    def _read_text(self) -> str:
        """The next block as text ('' at the end)."""
        if self._text is not None:
            if self._offset >= len(self._text):
                return ""
            block = self._text[self._offset : self._offset + self._block_size]
            self._offset += len(block)
            if not block.isascii():
                bad = next(i for i, ch in enumerate(block) if not ch.isascii())
                raise X12ParseError(f"character {self._offset - len(block) + bad} is not ASCII", source=self.source)
            return block
        assert self._handle is not None
        data = self._handle.read(self._block_size)
        start = self._offset
        self._offset += len(data)
        try:
            return data.decode("ascii")
        except UnicodeDecodeError as exc:
            raise X12ParseError(f"byte {start + exc.start} is not ASCII", source=self.source) from None

    def _start(self) -> str:
        """Enough text for the ISA, after a byte-order mark and whitespace."""
        if self._text is not None:
            if self._text.startswith("\ufeff"):
                self._text = self._text[1:]
                self.notes.append(NOTE_BOM)
        else:
            assert self._handle is not None
            first = self._handle.read(len(BOM))
            if first == BOM:
                self.notes.append(NOTE_BOM)
                self._offset = len(BOM)
            else:
                self._handle = cast(BinaryIO, _Prefixed(first, self._handle))
        head = ""
        while True:
            block = self._read_text()
            head += block
            start = head.find("ISA")
            if not block or (start >= 0 and len(head) - start >= ISA_LENGTH):
                break
            if start < 0 and len(head) > BLOCK_SIZE:
                break
        start = head.find("ISA")
        if start > 0 and not head[:start].strip():
            head = head[start:]
        return head

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()

    def batches(self) -> Iterator[list[str]]:
        """Lists of segment texts in file order, without line breaks and empty segments."""
        terminator = self.separators.segment
        limit = self.max_segment
        strip = str.strip
        pending: list[str] = []  # the pieces of a segment that spans blocks
        pending_length = 0
        block = self._head
        self._head = ""
        try:
            while block:
                if pending:
                    cut = block.find(terminator)
                    if cut < 0:
                        pending.append(block)
                        pending_length += len(block)
                        if pending_length > limit:
                            raise self._too_long()
                        block = self._read_text()
                        continue
                    pending.append(block[:cut])
                    pending_length += cut
                    if pending_length > limit:
                        raise self._too_long()
                    joined = strip("".join(pending), LINE_BREAKS)
                    pending = []
                    pending_length = 0
                    if joined:
                        yield [joined]
                    del joined
                    block = block[cut + 1 :]
                pieces = block.split(terminator)
                tail = pieces.pop()
                if pieces:
                    batch = list(filter(None, map(strip, pieces, repeat(LINE_BREAKS))))
                    if batch:
                        if len(max(batch, key=len)) > limit:
                            raise self._too_long()
                        yield batch
                del pieces
                if tail:
                    pending = [tail]
                    pending_length = len(tail)
                    if pending_length > limit:
                        raise self._too_long()
                block = self._read_text()
            rest = strip("".join(pending), LINE_BREAKS)
            if rest:
                if not rest.strip(PADDING):
                    self.notes.append(NOTE_PADDING)
                else:
                    yield [rest.rstrip(PADDING) if rest.rstrip(PADDING) != rest else rest]
        finally:
            self.close()

    def _too_long(self) -> X12ParseError:
        return X12ParseError(
            f"a segment is longer than the limit of {self.max_segment:,} bytes (BHCLAIMS_MAX_SEGMENT_BYTES)",
            source=self.source,
        )


X12Input = str | bytes | Path | BinaryIO


def segment_source(data: X12Input | SegmentSource, source: str) -> SegmentSource:
    """``data`` as a ``SegmentSource`` (itself if it is one: the caller keeps it to read its ``notes``)."""
    return data if isinstance(data, SegmentSource) else SegmentSource(data, source=source)


class _Prefixed(io.RawIOBase):
    """A binary file with a few bytes already read put back in front."""

    def __init__(self, prefix: bytes, handle: BinaryIO):
        self._prefix, self._inner = prefix, handle

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self._prefix:
            head, self._prefix = self._prefix, b""
            if size < 0:
                return head + self._inner.read()
            return head + self._inner.read(max(size - len(head), 0))
        return self._inner.read(size)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._inner.close()
        super().close()
