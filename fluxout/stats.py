"""Per-task statistics of a job's output: lines, bytes, first and last
output time, exit status, and output over time (for a sparkline).

``JobStats`` is fed a job's eventlog chunks as ``cat`` is, and keeps one
``StreamStats`` per (task, stream). The output eventlog takes a batched
lane of its own: the whole lines of each chunk are decoded by msgspec as
one batch of plain data events (``decode_lines`` against their exact
shape), each event handed to its task's list by C loops (``map`` of an
attribute getter, a dict lookup and a call), and at the end of the batch
each task's texts are joined once per stream, their newlines counted with
``str.count`` and their bytes measured: no record, and no Python step, per
line. A batch that holds any other event (the header, eof, base64 data, a
rank not learnt yet, anything malformed) is read one event at a time, the
plain ones by fluxout.lane's decoder and the rest by ``OutputDecoder``
(the careful path), into per-task lists too, in order.

Output over time is a histogram of bytes written per time slot, shared by
every task of the job (``Grid``): slots of a width that doubles (and the
histograms fold) when the job's output outlasts them, so it stays a few
hundred numbers a task however long the job ran. A task's events of a
batch are put in slots by bisecting them by time, one bisect a slot.
"""

from __future__ import annotations

import bisect
import operator
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter
from typing import Any, Literal

import msgspec

from fluxout.eventlog import (
    MAX_LINE,
    Data,
    FirstEntry,
    Header,
    LineSplitter,
    OutputDecoder,
    Redirect,
    decode_events,
)
from fluxout.idset import IdSet
from fluxout.job import ALL_STREAMS, Problems, Selection, no_task_selected, take_notice
from fluxout.lane import BYTES, _decode, text_of_base64
from fluxout.sources.base import IDLE, RESOURCES, Notice, Source
from fluxout.status import JobInfo, signal_name

STREAMS = ("stdout", "stderr")

# The fine histogram's slots per task; its slots start this wide (seconds).
SLOTS = 512
FIRST_WIDTH = 1e-5

# An event of more tasks than this takes the careful path (each event's
# call would append it to every task's list).
MAX_SHARED = 64

# Buckets of the sparkline (and of the JSON "activity" field).
BUCKETS = 20


class Grid:
    """The time slots every task's histogram of one job uses: from ``origin``
    (the job's first output), ``width`` seconds each, SLOTS of them; when an
    event comes after the last, the width doubles and every histogram folds."""

    def __init__(self) -> None:
        self.origin: float | None = None
        self.width = FIRST_WIDTH
        self.histograms: list[list[int]] = []

    def new(self) -> list[int]:
        hist = [0] * SLOTS
        self.histograms.append(hist)
        return hist

    def cover(self, t: float) -> None:
        """Widen the slots until time ``t`` falls in one of them."""
        if self.origin is None:
            self.origin = t
            return
        while t - self.origin >= self.width * SLOTS:
            self.width *= 2
            for hist in self.histograms:
                folded = [hist[i] + hist[i + 1] for i in range(0, SLOTS, 2)]
                hist[:] = folded + [0] * (SLOTS - len(folded))

    def slot(self, t: float) -> int:
        assert self.origin is not None
        return min(SLOTS - 1, max(0, int((t - self.origin) / self.width)))


@dataclass(frozen=True)
class TaskExit:
    """How a task ended: its exit code or signal. ``source`` says where it
    was read: "task-exit" (the exec eventlog's shell.task-exit of that
    task) or "job" (the job's wait status: Flux posts shell.task-exit for
    the first task to exit only)."""

    code: int | None
    signal: int | None
    source: str

    def describe(self) -> str:
        if self.signal is not None:
            text = f"signal {self.signal} ({signal_name(self.signal)})"
        else:
            text = f"exit {self.code}"
        return text if self.source == "task-exit" else f"{text} (job)"

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "signal": self.signal, "from": self.source}


@dataclass
class StreamStats:
    """What one task wrote to one stream."""

    rank: int
    stream: str
    hist: list[int]
    lines: int = 0  # newlines, plus a last line without one
    bytes: int = 0
    first: float | None = None  # timestamp of the first data, and of the last
    last: float | None = None
    eof: bool = False
    redirect: str | None = None  # the file the stream went to instead
    newlines: int = 0
    open: bool = False  # the last byte written was not a newline
    exit: TaskExit | None = None
    host: str | None = None

    def activity(self, start: float, end: float, grid: Grid, buckets: int = BUCKETS) -> list[int]:
        """Bytes written in each of ``buckets`` equal parts of
        [start, end], from the fine histogram (each slot goes to the bucket
        that holds its middle)."""
        out = [0] * buckets
        origin = grid.origin
        if origin is None:
            return out
        span = end - start
        for i, n in enumerate(self.hist):
            if not n:
                continue
            middle = origin + (i + 0.5) * grid.width
            b = int((middle - start) / span * buckets) if span > 0 else 0
            out[min(buckets - 1, max(0, b))] += n
        return out


# gc=False: a million of them are made per million lines, and each one the
# collector tracks costs it work; they hold strings, a float and each other
# only, so no cycle can go through them.
class _PlainContext(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    stream: Literal["stdout", "stderr"]
    rank: str
    data: str


class _PlainEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A data event of UTF-8 text, no eof: what a batch decoded whole holds."""

    timestamp: float
    name: Literal["data"]
    context: _PlainContext


_decode_lines = msgspec.json.Decoder(_PlainEvent).decode_lines
_RANK = attrgetter("context.rank")
_CONTEXT = attrgetter("context")
_STREAM = attrgetter("stream")  # of a context
_DATA = attrgetter("data")  # of a context
_TIME = attrgetter("timestamp")


def _call_py(f: Callable[[_PlainEvent], None], x: _PlainEvent) -> None:
    f(x)


# f(x) in C where there is operator.call (3.11).
_call: Callable[[Callable[[_PlainEvent], None], _PlainEvent], None] = getattr(
    operator, "call", _call_py
)


# What the lane appends one event's time and text with.
_Appenders = tuple[Callable[[float], None], Callable[[str], None]]


class _Pending:
    """One task's events of the batch at hand: times and texts, in order."""

    __slots__ = ("appenders", "stats", "texts", "times")

    def __init__(self, stats: StreamStats) -> None:
        self.stats = stats
        self.times: list[float] = []
        self.texts: list[str] = []
        self.appenders: _Appenders = (self.times.append, self.texts.append)


def _nothing(_: object) -> None:
    pass


_DISCARD: _Appenders = (_nothing, _nothing)


class JobStats:
    """Statistics of one job, fed its eventlogs chunk by chunk."""

    def __init__(
        self,
        name: str,
        tasks: IdSet | None,
        streams: frozenset[str],
        warn: Callable[[str], None],
        hosts: Mapping[int, str] | None = None,
    ) -> None:
        self.name = name
        self.tasks = tasks
        self.streams = streams
        self.hosts = hosts
        self.taskmap: object = None  # shell.start's (RFC 34), for the host column
        self.warn = warn
        self.problems = Problems(name, warn)
        self.select = Selection(tasks)
        self.info = JobInfo()
        self.grid = Grid()
        self.decoder = OutputDecoder(self.problems)
        self.splitters = {name: LineSplitter() for name in ("main", "exec", "output")}
        self.firsts = {name: FirstEntry(name) for name in ("main", "exec", "output")}
        self.header_time: float | None = None
        self.ntasks: int | None = None
        self.stats: dict[tuple[int, str], StreamStats] = {}
        self._pending: dict[tuple[int, str], _Pending] = {}
        self._dirty: list[_Pending] = []
        # The lane's tables: per stream, rank string -> its task's appenders
        # (one event at a time), or its task's pending lists (None: the
        # task is not shown) for a batch decoded whole.
        self._routes: dict[str, dict[str, _Appenders]] = {s: {} for s in STREAMS}
        # Per rank string, where its events go in a batch decoded whole:
        # its task's list (both streams, split at the batch's end).
        self._adders: dict[str, Callable[[_PlainEvent], None]] = {}
        self._ranked: list[tuple[int, list[_PlainEvent]]] = []
        self._task_events: dict[int, list[_PlainEvent]] = {}
        self._hidden: list[_PlainEvent] = []  # the events of tasks not shown
        # The output eventlog is cut by _chunk (whole lines) until a line
        # is too long, then by its LineSplitter.
        self._whole_lines = True
        self._tail: list[bytes] = []
        self._tail_size = 0
        self._lineno = 0
        self._told_selection = False

    # -- feeding ------------------------------------------------------------

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        if isinstance(chunk, Notice):
            take_notice(chunk, eventlog, self.problems, self.splitters, self.warn)
            if eventlog == "output" and chunk.restart:
                self._tail.clear()
                self._lineno = 0
            return
        if eventlog == "output":
            if self._whole_lines:
                self._chunk(chunk)
            else:
                first, lines = self.splitters["output"].split(chunk)
                self._output(first, lines)
            return
        lines_ = self.splitters[eventlog].feed(chunk)
        self._events(eventlog, lines_)

    def _chunk(self, chunk: bytes) -> None:
        """Output eventlog bytes: its whole lines, decoded as one batch
        (msgspec's decode_lines, no line split apart); the unfinished last
        line waits for the next chunk. A line that grows past MAX_LINE
        unfinished hands the rest to the LineSplitter, which cuts it."""
        cut = chunk.rfind(b"\n") + 1
        tail = self._tail
        if not cut:
            tail.append(chunk)
            self._tail_size += len(chunk)
            if self._tail_size > MAX_LINE:
                self._whole_lines = False
                splitter = self.splitters["output"]
                splitter.lineno = self._lineno
                first, lines = splitter.split(b"".join(tail))
                tail.clear()
                self._output(first, lines)
            return
        start = 0
        if tail:
            # The line the last chunk left unfinished, alone; the rest is
            # decoded where it is (a view, not a copy).
            start = chunk.find(b"\n") + 1
            line = b"".join([*tail, chunk[:start]])
            self._lines(line, 0, len(line))
        tail.clear()
        self._tail_size = 0
        if cut < len(chunk):
            tail.append(chunk[cut:])
            self._tail_size = len(chunk) - cut
        if cut > start:
            self._lines(chunk, start, cut)
        self._flush()

    def _lines(self, chunk: bytes, start: int, end: int) -> None:
        """Whole lines of the output eventlog, chunk[start:end]: as one
        batch (read where they are, through a view), else one by one."""
        taken = self._whole(memoryview(chunk)[start:end])
        if taken:
            # A line per event: msgspec skips blank lines, which no eventlog
            # has within it (only `flux job info` adds one at its end).
            self._lineno += taken
        else:
            splitter = LineSplitter()
            splitter.lineno = self._lineno
            first, lines = splitter.split(chunk[start:end])
            self._one_by_one(first, lines)
            self._lineno = splitter.lineno
        self._flush()  # before the next lines: a task's texts stay in order

    def end(self) -> None:
        """The eventlogs are read: their last lines without a newline."""
        if self._tail:
            splitter = self.splitters["output"]
            splitter.lineno = self._lineno
            first, lines = splitter.split(b"".join(self._tail))
            self._tail.clear()
            self._output(first, lines)
        for eventlog, splitter in self.splitters.items():
            rest = splitter.end()
            if not rest:
                continue
            if eventlog == "output":
                self._careful_batch(rest)
            else:
                self._events(eventlog, rest)
        self._flush()

    def _events(self, eventlog: str, lines: list[tuple[int, bytes]]) -> None:
        for event in decode_events(lines, self.problems, eventlog, self.firsts[eventlog]):
            if eventlog == "main":
                self.info.feed_main(event)
            else:
                self.info.feed_exec(event)
                if event.name == "shell.start":
                    self.taskmap = event.context.get("taskmap")  # where tasks ran

    def _output(self, first: int, lines: list[bytes]) -> None:
        """One batch of output eventlog lines (each with its newline), cut
        by the LineSplitter."""
        self._one_by_one(first, lines)
        self._flush()

    def _whole(self, body: memoryview) -> int:
        """Whole lines decoded as one batch of plain data events, each
        handed to its task's list by C loops (``map`` of an attribute
        getter, a dict lookup and a call), none in Python; how many were
        taken (all). 0, with nothing taken, when one of them is not a plain data event (the
        header, eof, base64, a bad line) or is of a rank not learnt yet."""
        try:
            events = _decode_lines(body)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return 0
        try:
            deque(map(_call, map(self._adders.__getitem__, map(_RANK, events)), events), maxlen=0)
        except KeyError:
            # The task lists were empty (each batch is flushed): undo.
            for _, taken in self._ranked:
                taken.clear()
            return 0
        finally:
            self._hidden.clear()
        return len(events)

    def _one_by_one(self, first: int, lines: list[bytes]) -> None:
        decode = _decode
        routes = self._routes
        for i, line in enumerate(lines):
            try:
                event = decode(line)
                ctx = event.context
                data = ctx.data if ctx.encoding is None else text_of_base64(ctx.data)
                add_time, add_text = routes[ctx.stream][ctx.rank]  # KeyError: not learnt
                add_time(event.timestamp)
                add_text(data)
                continue
            except Exception:
                pass  # the careful path says what is wrong with the line
            self._careful(first + i, line.rstrip(b"\n") if type(line) is bytes else line)

    def _careful_batch(self, lines: list[tuple[int, bytes]]) -> None:
        for lineno, line in lines:
            self._careful(lineno, line)

    def _careful(self, lineno: int, line: bytes) -> None:
        for rec in self.decoder.decode(((lineno, line),)):
            if isinstance(rec, Header):
                self._header(rec)
            elif isinstance(rec, Data):
                self._data(rec)
            elif isinstance(rec, Redirect):
                for stats in self._selected(rec.stream, rec.ranks):
                    stats.redirect = rec.path
                    stats.eof = True

    def _header(self, rec: Header) -> None:
        self.header_time = rec.timestamp
        count = rec.count.get("stdout")
        if isinstance(count, int) and count >= 0:
            self.ntasks = count
            for rank in range(count):
                for stream in STREAMS:
                    self._stats(rank, stream)  # every task has a row, silent or not
        why = no_task_selected(self.tasks, self.ntasks)
        if why is not None and not self._told_selection:
            self._told_selection = True
            self.warn(f"{self.name}: warning: {why}")

    def _data(self, rec: Data) -> None:
        selected = self._selected(rec.stream, rec.ranks)
        text = rec.data.decode(errors=BYTES) if rec.data else ""
        for stats in selected:
            if text:
                pending = self._pending_of(stats)
                pending.appenders[0](rec.timestamp)
                pending.appenders[1](text)
            if rec.eof:
                stats.eof = True
        if not rec.eof and self.decoder.header is not None:
            if len(rec.ranks) == 1:
                # The lane takes this rank's next plain events, one by one.
                self._routes[rec.stream][rec.rank] = (
                    self._pending_of(selected[0]).appenders if selected else _DISCARD
                )
            # And, of several ranks too, in a batch decoded whole.
            self._learn(rec.rank, rec.ranks)

    def _learn(self, rank: str, ranks: IdSet) -> None:
        """A rank string and the tasks it stands for (as the decoder kept
        them): its events of a whole batch go to each shown task's list
        (one list a task, whatever rank strings name it, so its events
        stay in order), or nowhere."""
        if rank in self._adders or len(ranks) > MAX_SHARED:
            return
        lists = [self._events_of(task) for task in self.select(rank, ranks)]
        if not lists:
            self._adders[rank] = self._hidden.append
        elif len(lists) == 1:
            self._adders[rank] = lists[0].append
        else:  # an event of several tasks: one call a event, in Python
            appends = [events.append for events in lists]

            def add(event: _PlainEvent) -> None:
                for append in appends:
                    append(event)

            self._adders[rank] = add

    def _events_of(self, task: int) -> list[_PlainEvent]:
        events = self._task_events.get(task)
        if events is None:
            events = self._task_events[task] = []
            self._ranked.append((task, events))
        return events

    def _selected(self, stream: str, ranks: IdSet) -> list[StreamStats]:
        if stream not in self.streams:
            return []
        chosen = self.select(ranks.format(), ranks)
        return [self._stats(rank, stream) for rank in chosen]

    def _stats(self, rank: int, stream: str) -> StreamStats:
        key = (rank, stream)
        stats = self.stats.get(key)
        if stats is None:
            stats = self.stats[key] = StreamStats(rank, stream, self.grid.new())
        return stats

    def _pending_of(self, stats: StreamStats) -> _Pending:
        key = (stats.rank, stats.stream)
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(stats)
            self._dirty.append(pending)
        return pending

    def _flush(self) -> None:
        """The batch's texts of each task: joined once, counted, put in slots."""
        for task, events in self._ranked:
            if events:
                self._split_streams(task, events)
                events.clear()
        for pending in self._dirty:
            times, texts = pending.times, pending.texts
            if not texts:
                continue
            if times != sorted(times):  # never seen: an eventlog is in time order
                pairs = sorted(zip(times, texts, strict=True), key=lambda p: p[0])
                times[:] = [t for t, _ in pairs]
                texts[:] = [x for _, x in pairs]
            size = self._count(pending.stats, "".join(texts), times[0], times[-1])
            _fill(pending.stats.hist, self.grid, times, size)
            times.clear()
            texts.clear()

    def _count(self, stats: StreamStats, joined: str, low: float, high: float) -> int:
        """One task's text of a batch, written from ``low`` to ``high``:
        its newlines and bytes counted; its size."""
        stats.newlines += joined.count("\n")
        size = len(joined) if joined.isascii() else len(joined.encode(errors=BYTES))
        stats.bytes += size
        stats.open = not joined.endswith("\n")
        stats.first = low if stats.first is None else min(stats.first, low)
        stats.last = high if stats.last is None else max(stats.last, high)
        self.grid.cover(low)
        self.grid.cover(high)
        return size

    def _split_streams(self, task: int, events: list[_PlainEvent]) -> None:
        """A task's events of a batch decoded whole, counted per stream.

        The events are in eventlog order, which is time order (one job
        shell writes the eventlog, stamping each event as it writes it):
        the first and last are the earliest and latest, and their slots are
        found by bisecting the events by time, with no list of times."""
        # Their contexts once: a plain getter each is cheaper than a dotted one.
        contexts = list(map(_CONTEXT, events))
        streams = list(map(_STREAM, contexts))
        if "stderr" not in streams:
            parts = [("stdout", events, contexts)]
        elif "stdout" not in streams:
            parts = [("stderr", events, contexts)]
        else:
            mask = list(map("stdout".__eq__, streams))
            parts = [
                ("stdout", list(compress(events, mask)), list(compress(contexts, mask))),
                (
                    "stderr",
                    list(compress(events, map(operator.not_, mask))),
                    list(compress(contexts, map(operator.not_, mask))),
                ),
            ]
        for stream, part, texts in parts:
            if stream not in self.streams:
                continue
            stats = self._stats(task, stream)
            low, high = part[0].timestamp, part[-1].timestamp
            if high < low:  # a clock that went back: the slots are approximate
                low, high = high, low
            size = self._count(stats, "".join(map(_DATA, texts)), low, high)
            _fill(stats.hist, self.grid, part, size, _TIME)

    # -- results ------------------------------------------------------------

    def rows(self) -> list[StreamStats]:
        """One row per selected task and stream, by rank then stream, with
        lines, exit status and host filled in."""
        out = []
        exits = self._exits()
        for (rank, stream), stats in sorted(
            self.stats.items(), key=lambda kv: (kv[0][0], STREAMS.index(kv[0][1]))
        ):
            if stream not in self.streams or (self.tasks is not None and rank not in self.tasks):
                continue
            stats.lines = stats.newlines + (1 if stats.open else 0)
            stats.exit = exits(rank)
            if self.hosts is not None:
                stats.host = self.hosts.get(rank)
            out.append(stats)
        return out

    def _exits(self) -> Callable[[int], TaskExit | None]:
        by_rank: dict[int, TaskExit] = {}
        for ctx in self.info.task_exits:
            rank = ctx.get("rank")
            if not isinstance(rank, int) or isinstance(rank, bool):
                continue
            signaled = ctx.get("signaled")
            code = ctx.get("exitcode")
            if isinstance(signaled, int) and signaled > 0:
                by_rank[rank] = TaskExit(None, signaled, "task-exit")
            elif isinstance(code, int):
                by_rank[rank] = TaskExit(code, None, "task-exit")
        status = self.info.finish_status
        if status is None:
            status = self.info.complete_status
        job = _job_exit(status) if status is not None else None
        return lambda rank: by_rank.get(rank, job)

    @property
    def start(self) -> float | None:
        """What times count from: the job's start, else its output header,
        else its first output."""
        if self.info.start_time is not None:
            return self.info.start_time
        return self.header_time if self.header_time is not None else self.grid.origin

    def span(self, rows: list[StreamStats]) -> tuple[float, float] | None:
        """The job's output time span over the rows shown (None: no output)."""
        firsts = [r.first for r in rows if r.first is not None]
        lasts = [r.last for r in rows if r.last is not None]
        if not firsts:
            return None
        return min(firsts), max(lasts)


def _fill(
    hist: list[int],
    grid: Grid,
    times: Sequence[Any],
    size: int,
    key: Callable[[Any], float] | None = None,
) -> None:
    """Add ``size`` bytes written at sorted ``times`` to their slots, each
    slot its share by events (one batch of a task is not split by line
    lengths: no per-event sum); one bisect per slot the batch spans."""
    assert grid.origin is not None
    origin, width = grid.origin, grid.width
    n = len(times)
    lo = 0
    given = 0
    slot = grid.slot(times[0] if key is None else key(times[0]))
    last_slot = grid.slot(times[-1] if key is None else key(times[-1]))
    if slot == last_slot:
        hist[slot] += size
        return
    if n <= 4 * (last_slot - slot):
        # Few events over many slots (many tasks, or a slow writer): each
        # event's slot, rather than a bisect per slot.
        found = [int((t - origin) / width) for t in (times if key is None else map(key, times))]
        if found[0] < 0 or found[-1] >= SLOTS:  # sorted: only the ends can be out
            found = [min(SLOTS - 1, max(0, i)) for i in found]
        for i in sorted(set(found)):
            hi = bisect.bisect_right(found, i)
            share = size * hi // n
            hist[i] += share - given
            given = share
        return
    while lo < n:
        if slot >= last_slot:
            hi = n
        else:
            hi = bisect.bisect_left(times, origin + (slot + 1) * width, lo, key=key)
        if hi > lo:
            share = size * hi // n
            hist[slot] += share - given
            given = share
            lo = hi
        slot += 1


def _job_exit(status: int) -> TaskExit | None:
    """A task's end as the job's wait status tells it."""
    if not 0 <= status < 1 << 31:
        return None
    if os.WIFSIGNALED(status):
        return TaskExit(None, os.WTERMSIG(status), "job")
    if os.WIFEXITED(status):
        code = os.WEXITSTATUS(status)
        if code > 128:
            return TaskExit(None, code - 128, "job")
        return TaskExit(code, None, "job")
    return None


@dataclass
class JobResult:
    """One job's statistics, for the renderer."""

    job: str  # as JSON rows name it: the JOB argument, as lines --json
    rows: list[StreamStats]
    start: float | None
    span: tuple[float, float] | None
    grid: Grid = field(repr=False, default_factory=Grid)
    short: str = ""  # as the table names it, when it shows several jobs


def read_stats(
    source: Source,
    label: str,
    tasks: IdSet | None,
    streams: frozenset[str] = ALL_STREAMS,
    warn: Callable[[str], None] = _nothing,
    hosts: Mapping[int, str] | None = None,
) -> tuple[JobResult, int]:
    """Read all a source has so far; the job's statistics and how many
    of its lines were lost (bad lines, unreadable parts: status 1)."""
    job = JobStats(label, tasks, streams, warn, hosts)
    wanted = frozenset(("main", "exec", "output"))
    r = b""  # the job's resource set, when the source has it
    chunks: Iterator[tuple[str, bytes | Notice]] = source.chunks(
        False, wanted if hosts is not None else wanted | {RESOURCES}
    )
    try:
        for eventlog, chunk in chunks:
            if eventlog == RESOURCES:
                r = chunk if isinstance(chunk, bytes) else b""
                continue
            if eventlog == IDLE or eventlog not in wanted:
                continue
            job.feed(eventlog, chunk)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    job.end()
    job.problems.summary()
    if job.decoder.header is None and not job.stats:
        # No task to give a row to: say why, as attach does ("No job output found").
        why = "the job never started" if "main" in source.eventlogs and not job.info.started else ""
        warn(f"{label}: no job output found" + (f" ({why})" if why else ""))
    if job.hosts is None and r and job.taskmap is not None:
        job.hosts = _hosts(r, job.taskmap, [rank for rank, _ in job.stats])
    rows = job.rows()
    return JobResult(label, rows, job.start, job.span(rows), job.grid), job.problems.errors


def _hosts(r: bytes, taskmap: object, ranks: list[int]) -> dict[int, str] | None:
    """Each task's host, from R and the taskmap; None when they do not say
    (the column then shows ``-``, as without R: stats needs no hosts)."""
    from fluxout.hosts import HostMap, HostsError

    try:
        hosts = HostMap.of(r, taskmap)
    except HostsError:
        return None
    found = {rank: hosts.host(rank) for rank in ranks}
    return {rank: host for rank, host in found.items() if host is not None}


__all__ = [
    "BUCKETS",
    "Grid",
    "JobResult",
    "JobStats",
    "StreamStats",
    "TaskExit",
    "read_stats",
]
