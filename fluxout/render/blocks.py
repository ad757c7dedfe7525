"""Each task's whole output, in bounded memory, for ``cat --coalesce``.

dshbak -c keeps every host's output to compare them at the end. Here a
task's output is known by its digest (blake2b) and length, updated as its
bytes arrive; the bytes themselves stay in memory only while all that is
held is small (HELD_BYTES), and beyond that go to one anonymous temporary
file, each task's part as a few long runs (the largest buffers go first).
At the end, tasks of the same digest and length are one block, and the
block's bytes are copied from memory or the file a piece at a time.

Tasks that were written the same bytes share one ``Content``: an event for
many tasks ("[0-65535]") costs one update, not one per task. When an event
is for only some of a content's tasks, those get a new content that starts
with the old one's bytes so far (a ``base``) and goes on with its own, so
no byte is kept twice. The tasks of one stream are kept as sorted rank
ranges, each with its content, so a range of tasks costs one entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from operator import attrgetter
from typing import IO

from fluxout.errors import FluxoutError

# Output held in memory before the largest buffers go to the temporary file.
HELD_BYTES = 8 << 20
# What one held piece costs besides its bytes (the bytes object, a list slot).
OVERHEAD = 64
# A content this small is hashed only when it must be (the end, or a fork):
# a job of many tasks of one short line each keeps no hash state per task.
SMALL = 1024
# Bytes copied from the temporary file (or out of a big piece) at a time.
PIECE = 1 << 20
DIGEST_SIZE = 16


class Content:
    """The bytes some tasks wrote to a stream, the same for each of them:
    the first ``base_size`` bytes of ``base``, then its own (``runs`` in the
    temporary file, then ``pieces`` in memory)."""

    __slots__ = (
        "base",
        "base_size",
        "digest",
        "hash",
        "held",
        "ntasks",
        "open",
        "pieces",
        "runs",
        "size",
    )

    def __init__(self, base: Content | None = None) -> None:
        self.base = base
        self.base_size: int = base.size if base is not None else 0
        self.size: int = self.base_size
        # None: not hashed yet (a small content of its own bytes only).
        self.hash: hashlib.blake2b | None = None
        # Its last line has no newline yet.
        self.open: bool = base.open if base is not None else False
        self.ntasks = 0  # how many tasks have it
        self.runs = array("q")  # (offset, length) pairs in the temporary file
        self.pieces: list[bytes] = []
        self.held = 0  # what the pieces cost (see OVERHEAD)
        self.digest = b""  # set at the end


class Store:
    """Where contents keep their bytes: memory up to HELD_BYTES, then one
    anonymous temporary file."""

    def __init__(self, job: str = "-") -> None:
        self.job = job  # named in an error
        self.file: IO[bytes] | None = None
        self.end = 0  # the file's size
        self.unflushed = False
        self.held = 0
        self.holding: set[Content] = set()

    def append(self, content: Content, data: bytes) -> None:
        if content.hash is None and content.size + len(data) > SMALL:
            self._hash_now(content)
        if content.hash is not None:
            content.hash.update(data)
        content.size += len(data)
        content.open = not data.endswith(b"\n")
        content.pieces.append(data)
        cost = len(data) + OVERHEAD
        content.held += cost
        self.held += cost
        self.holding.add(content)
        if self.held > HELD_BYTES:
            self._spill()

    def fork(self, content: Content) -> Content:
        """A new content with ``content``'s bytes so far, to go on apart."""
        if not content.size:
            return Content()
        if content.hash is None:
            self._hash_now(content)
        assert content.hash is not None
        child = Content(content)
        child.hash = content.hash.copy()
        return child

    def digest(self, content: Content) -> bytes:
        if content.hash is None:
            self._hash_now(content)
        assert content.hash is not None
        return content.hash.digest()

    def _hash_now(self, content: Content) -> None:
        # Only a content of its own bytes is ever left unhashed: a fork
        # hashes its base first.
        assert content.base is None
        digest = hashlib.blake2b(digest_size=DIGEST_SIZE)
        for piece in self._own(content, content.size):
            digest.update(piece)
        content.hash = digest

    def _failed(self, exc: OSError) -> FluxoutError:
        why = exc.strerror or str(exc)
        return FluxoutError(self.job, f"--coalesce: cannot keep output in a temporary file: {why}")

    def _spill(self) -> None:
        """The largest buffers to the file, until half the limit is held."""
        try:
            if self.file is None:
                self.file = tempfile.TemporaryFile()  # noqa: SIM115 (kept until close)
            self._spill_to(self.file.write)
        except OSError as exc:
            raise self._failed(exc) from None

    def _spill_to(self, write: Callable[[bytes], object]) -> None:
        for content in sorted(self.holding, key=attrgetter("held"), reverse=True):
            if self.held <= HELD_BYTES // 2:
                break
            size = 0
            for piece in content.pieces:
                write(piece)
                size += len(piece)
            runs = content.runs
            if runs and runs[-2] + runs[-1] == self.end:
                runs[-1] += size  # it follows its last run
            else:
                runs.extend((self.end, size))
            self.end += size
            self.held -= content.held
            content.held = 0
            content.pieces = []
            self.holding.discard(content)
        self.unflushed = True

    def read(self, content: Content) -> Iterator[bytes]:
        """All of a content's bytes, in pieces of at most PIECE bytes."""
        parts: list[tuple[Content, int]] = []  # (content, how much of its own)
        size = content.size
        node: Content | None = content
        while node is not None:
            if size > node.base_size:
                parts.append((node, size - node.base_size))
            size = node.base_size
            node = node.base
        for node, own in reversed(parts):
            yield from self._own(node, own)

    def _own(self, content: Content, size: int) -> Iterator[bytes]:
        """The first ``size`` bytes a content wrote itself."""
        runs = content.runs
        if runs and self.file is not None:
            for i in range(0, len(runs), 2):
                length = min(runs[i + 1], size)
                yield from self._read_run(runs[i], length)
                size -= length
                if size <= 0:
                    return
        for piece in content.pieces:
            if size <= 0:
                return
            if len(piece) <= min(size, PIECE):
                yield piece
            else:
                for start in range(0, min(len(piece), size), PIECE):
                    yield piece[start : min(start + PIECE, size)]
            size -= len(piece)

    def _read_run(self, offset: int, length: int) -> Iterator[bytes]:
        assert self.file is not None
        try:
            if self.unflushed:
                self.file.flush()
                self.unflushed = False
            fd = self.file.fileno()
            while length > 0:
                chunk = os.pread(fd, min(length, PIECE), offset)
                if not chunk:
                    raise OSError(f"it ended at {offset} bytes")
                offset += len(chunk)
                length -= len(chunk)
                yield chunk
        except OSError as exc:
            raise self._failed(exc) from None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.holding.clear()


# The content of the tasks that wrote nothing yet (a stream's gaps).
class _Empty(Content):
    __slots__ = ()


class TaskOutputs:
    """The output of every task of one stream so far: sorted, disjoint rank
    ranges, each with the content that all its tasks wrote."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.empty = _Empty()
        self.los = array("q")
        self.his = array("q")
        self.contents: list[Content] = []

    def add(self, ranges: tuple[tuple[int, int], ...], data: bytes) -> None:
        """``data`` written by each task of ``ranges`` (sorted, disjoint)."""
        if data:
            self._apply(ranges, data, only_open=False)

    def end(self, ranges: tuple[tuple[int, int], ...]) -> None:
        """These tasks' stream ended: a last line without its newline gets
        one, as line assembly gives it."""
        self._apply(ranges, b"\n", only_open=True)

    def end_all(self) -> None:
        """The end of the input: every last line gets its newline."""
        for content in dict.fromkeys(self.contents):
            if content.open:
                self.store.append(content, b"\n")

    def groups(self) -> list[tuple[list[tuple[int, int]], Content]]:
        """(rank ranges, content) for each distinct output, the lowest rank
        first; tasks that wrote nothing are left out."""
        self.end_all()
        store = self.store
        by_digest: dict[tuple[int, bytes], tuple[list[tuple[int, int]], Content]] = {}
        seen: set[int] = set()
        for lo, hi, content in zip(self.los, self.his, self.contents, strict=True):
            if not content.size:
                continue
            if id(content) not in seen:
                seen.add(id(content))
                content.digest = store.digest(content)
            key = (content.size, content.digest)
            group = by_digest.get(key)
            if group is None:
                by_digest[key] = ([(lo, hi)], content)
            else:
                group[0].append((lo, hi))
        return list(by_digest.values())

    # -- the rank ranges --------------------------------------------------

    def _apply(self, ranges: tuple[tuple[int, int], ...], data: bytes, only_open: bool) -> None:
        spans = [self._cover(lo, hi) for lo, hi in ranges]
        los, his, contents = self.los, self.his, self.contents
        covered: dict[Content, int] = {}  # content -> how many of its tasks
        for i, j in spans:
            for k in range(i, j):
                content = contents[k]
                covered[content] = covered.get(content, 0) + his[k] - los[k] + 1
        moved: dict[Content, Content] = {}
        store = self.store
        for content, ntasks in covered.items():
            if only_open and not content.open:
                continue
            if ntasks == content.ntasks and content is not self.empty:
                store.append(content, data)  # all its tasks: it goes on
                continue
            new = store.fork(content)
            new.ntasks = ntasks
            if content is not self.empty:
                content.ntasks -= ntasks
            store.append(new, data)
            moved[content] = new
        if moved:
            for i, j in spans:
                for k in range(i, j):
                    contents[k] = moved.get(contents[k], contents[k])
        for i, j in reversed(spans):
            self._merge(i, j)

    def _cover(self, lo: int, hi: int) -> tuple[int, int]:
        """Make ranges start at ``lo`` and end at ``hi``, the tasks between
        without a range given the empty content; the index span of the
        ranges from lo to hi."""
        los, his, contents = self.los, self.his, self.contents
        i = bisect_left(his, lo)  # the first range that ends at lo or later
        if i < len(los) and los[i] < lo:  # it starts before: cut it at lo
            los.insert(i + 1, lo)
            his.insert(i + 1, his[i])
            his[i] = lo - 1
            contents.insert(i + 1, contents[i])
            i += 1
        at, j = lo, i
        while at <= hi:
            if j < len(los) and los[j] == at:
                if his[j] > hi:  # it goes on past hi: cut it
                    los.insert(j + 1, hi + 1)
                    his.insert(j + 1, his[j])
                    his[j] = hi
                    contents.insert(j + 1, contents[j])
                at = his[j] + 1
            else:  # tasks with no range yet, up to the next range
                end = hi if j == len(los) else min(hi, los[j] - 1)
                los.insert(j, at)
                his.insert(j, end)
                contents.insert(j, self.empty)
                at = end + 1
            j += 1
        return i, j

    def _merge(self, i: int, j: int) -> None:
        """Join neighbouring ranges of one content, from index j down to i."""
        los, his, contents = self.los, self.his, self.contents
        for k in range(min(j, len(los) - 1), max(i, 1) - 1, -1):
            if contents[k - 1] is contents[k] and his[k - 1] + 1 == los[k]:
                his[k - 1] = his[k]
                del los[k], his[k], contents[k]
