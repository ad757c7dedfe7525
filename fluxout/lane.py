"""The fast lane: plain data events straight from JSON to the output.

Nearly every line of a big job's output eventlog is a plain data event
(``{"stream", "rank", "data"}``: one task's text, no eof) of a rank string
already seen. The lane writes those with no record built, and hands every
other line to the careful path (``JobOutput``), in order.

A line is decoded by msgspec against the exact shape of such an event
(``_DataEvent``): the checks the careful path makes field by field (a
number for the time, a known stream, a string of data, no other key) are
made in C, as part of the parse, and anything else fails it and goes the
careful way. Text is gathered in runs (one stream, no careful line between),
joined and encoded once per run.

Labelled, the lane also completes lines written in pieces, as the careful
path's LineAssembler would, and hands its unfinished lines to that assembler
before any careful line. So it does for the library (fluxout.library), whose
lane ("records") hands out Line records instead of bytes.

For ``cat --coalesce`` (mode "blocks") no line is assembled: each task's
text is gathered and handed on once per run, as the careful path hands on
an event's bytes for its tasks.

With line filters (--grep, --exclude, --since, --until, --head, --tail) or
timestamps, the lane runs those same stages in batched form on the events
that hold one whole line of one task (what real jobs write): the regexes
over each line's bytes, the time window as two numbers, --head's count per
task in the filter's own table (and --tail's lines kept in it, as text),
and the time before each line rendered as the renderer does it, once per
second for abs; delta's clock (the last line shown) is the renderer's,
handed over at each careful line. Any other event (part of a
line, several lines, several ranks, a task whose unfinished line the
assembler holds) takes the careful path, as it would with no lane at all.
"""

from __future__ import annotations

import base64
import functools
import math
import operator
import re
import time
from collections.abc import Callable
from itertools import accumulate, chain, compress
from typing import Any, Literal

import msgspec
import orjson

from fluxout.eventlog import decode_base64
from fluxout.filters import LineFilter, line_local
from fluxout.idset import IdSet
from fluxout.lines import Line, LineAssembler

# What a route is, per (stream, rank string), as JobOutput learns it:
# "" (raw: the data as it is), the label before each line (labelled), the
# labels of an event of several ranks (labelled), or False (not shown).
Route = str | list[str] | Literal[False]

STREAMS = ("stdout", "stderr")
NEWLINE = orjson.OPT_APPEND_NEWLINE
# Base64 data (bytes that are not UTF-8) travels as text in the lane, its
# bad bytes as lone surrogates: no JSON string decodes to one, so encoding
# with this error handler gives back exactly the bytes.
BYTES = "surrogateescape"


def text_of_base64(text: str) -> str:
    """The bytes of RFC 24 base64 data as lane text; ValueError if bad."""
    return decode_base64(text).decode(errors=BYTES)


def _dump(record: dict[str, Any], option: int) -> bytes:
    """orjson.dumps of a line record whose text may hold bytes that are not
    UTF-8: then, as line_record does, the line is given in base64."""
    try:
        return orjson.dumps(record, option=option)
    except orjson.JSONEncodeError:  # a lone surrogate: see BYTES
        raw = str(record["line"]).encode(errors=BYTES)
        try:
            record["line"] = raw.decode()  # pieces that make UTF-8 once together
        except UnicodeDecodeError:
            record["line"] = base64.b64encode(raw).decode("ascii")
            record["encoding"] = "base64"
        return orjson.dumps(record, option=option)


# Times below SURE (2^32 s, in 2106) are floats exact to 1 us: the lane
# shows the times within a millisecond (abs) or within HALF_MS of the
# number shown (rel) as the last one, EDGE (5 us) from the ends for safety.
SURE = float(1 << 32)
EDGE = 5e-6
HALF_MS = 0.0005 - EDGE

# The lines of a batch the lane of filtered lines tries before it gives the
# rest to the careful path, when more than half of them went there.
PROBE = 128

# Lines longer than this take the careful path (see FastLane.run).
LONG_LINE = 1 << 20

# Careful(line number, line): the careful path for one line.
Careful = Callable[[int, bytes], None]
Write = Callable[[int, list[bytes]], None]
# The records lane: where its lines go (JobOutput's line filters, then the renderer).
Emit = Callable[[list[Line]], None]
# Tasks(stream, ranks, data): bytes written by each of these tasks (blocks).
Tasks = Callable[[str, IdSet, bytes], None]


class _Texts(list[str]):
    """blocks: one task's texts gathered in a run, and which task it is."""

    __slots__ = ("ranks", "stream")

    def __init__(self, stream: str, rank: int) -> None:
        super().__init__()
        self.stream = stream
        self.ranks = IdSet(((rank, rank),))


# gc=False: the decoded events hold strings and numbers only (no cycles), so
# the cyclic collector need not track them (about 5% of cat's time).
class _Context(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    stream: Literal["stdout", "stderr"]
    rank: str
    data: str
    encoding: Literal["base64"] | None = None


class _DataEvent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """An RFC 24 data event the lane takes. A timestamp given as an integer
    is made a float, as the careful path does; unknown keys, eof, another
    encoding or a value of the wrong type fail the decode."""

    timestamp: float
    name: Literal["data"]
    context: _Context


_decode = msgspec.json.Decoder(_DataEvent).decode


class _Careful(Exception):
    """Raised in the lane to give the line at hand to the careful path."""


class FastLane:
    """Writes the plain data events of one job, in batches of lines."""

    def __init__(
        self,
        mode: str,
        write: Write,
        assembler: LineAssembler,
        job: str = "",
        emit: Emit | None = None,
        tasks: Tasks | None = None,
        filters: LineFilter | None = None,
        times: str | None = None,
        clock: Any = None,
    ) -> None:
        # "raw", "labelled", "text" (lines, no label), "json" (lines --json),
        # "records" (the library) or "blocks" (cat --coalesce)
        self.mode = mode
        # labelled and text: the line filters that run (None: none), and
        # the kind of time before each line ("abs", "rel"; None: none).
        self.filters = filters if filters is not None and filters.active else None
        self.times = times
        self.zero: float | None = None  # rel: the time lines are shown from
        # delta: the renderer, whose last_time is the time of the last line
        # shown, the careful path's and the lane's alike (see _run).
        self.clock = clock
        self._last: float | None = None
        # --since/--until: the first and last times of the lines it chose from.
        self.span = [math.inf, -math.inf]
        self._second: tuple[int, str] = (-1, "")  # abs: the last second shown
        # The times shown as the last one (see _stamp), for this zero.
        self._bucket: tuple[float, float, str] = (0.0, 0.0, "")
        self._bucket_zero: float | None = None
        # With --grep or --exclude (_batch): the lines of the run at hand
        # that passed the filters so far, whose regexes are searched over
        # all of them at once, and what else each needs (see _filtered).
        self._gathered: list[str] = []
        self._meta: list[Any] = []
        filters = self.filters
        self._regexes: tuple[list[tuple[re.Pattern[bytes], bool]], ...] = (
            (
                [(p, line_local(p)) for p in filters.include],
                [(p, line_local(p)) for p in filters.exclude],
            )
            if filters is not None
            else ([], [])
        )
        self._batch = bool(self._regexes[0] or self._regexes[1])
        self.job = job  # json: the job named in each record
        self.write = write
        self.emit = emit  # records: where the Line records go
        self.tasks = tasks  # blocks: where each task's bytes go
        self.assembler = assembler
        self._pending = assembler.pending  # its unfinished lines, by (stream, rank)
        # Per stream, rank string -> raw: the append method of the run's
        # texts, or of a discard list for a task that is not shown;
        # labelled: its Route; json: the rank(s) of its task(s), or False.
        self._routes: dict[str, dict[str, Any]] = {s: {} for s in STREAMS}
        # Labelled and json: per stream, rank string -> its (first) task's rank.
        self._ids: dict[str, dict[str, int]] = {s: {} for s in STREAMS}
        # Labelled: the unfinished lines the lane holds: (stream, rank) ->
        # (the time of their first piece, their pieces).
        self._held: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._texts: list[str] = []
        self._hidden: list[str] = []
        self._no_run: dict[str, Any] = {}  # the table while no run is open
        # blocks: each task's texts, by (stream, rank), and those that hold some.
        self._task_texts: dict[tuple[str, int], _Texts] = {}
        self._dirty: list[_Texts] = []

    def learn(self, stream: str, rank: str, route: Route | None, tasks: IdSet) -> None:
        """How the lane writes ``rank``'s events (None: it does not);
        ``tasks``: the tasks shown."""
        if route is None:
            return
        table = self._routes[stream]
        if self.mode == "raw":
            table[rank] = self._hidden.append if route is False else self._texts.append
            return
        if self.mode in ("json", "records"):  # a task's rank, or the ranks of several
            table[rank] = (
                False if route is False else tasks.first if len(tasks) == 1 else list(tasks)
            )
        elif self.mode == "blocks":  # the texts of its task, or of each of its tasks
            texts = [] if route is False else [self._texts_of(stream, task) for task in tasks]
            table[rank] = texts[0] if len(texts) == 1 else tuple(texts)
        else:
            table[rank] = route
        if tasks:
            self._ids[stream][rank] = tasks.first

    def _texts_of(self, stream: str, rank: int) -> _Texts:
        texts = self._task_texts.get((stream, rank))
        if texts is None:
            texts = self._task_texts[(stream, rank)] = _Texts(stream, rank)
        return texts

    def knows(self, stream: str, rank: str) -> bool:
        return rank in self._routes.get(stream, ())

    def forget(self) -> None:
        """Labels changed (the task count is known): learn every rank again."""
        for table in self._routes.values():
            table.clear()

    def run(self, first: int, lines: list[bytes], careful: Careful) -> None:
        """Write ``lines`` (one batch, numbered from ``first``), giving the
        careful lines to ``careful``."""
        if max(map(len, lines), default=0) <= LONG_LINE:
            self._run(first, lines, careful)
            return
        # A very long line takes the careful path: for a 50 MB line, the
        # lane's copies (decoded, joined, encoded) peaked higher than its.
        start = 0
        for i, line in enumerate(lines):
            if len(line) > LONG_LINE:
                self._run(first + start, lines[start:i], careful)
                self.spill()
                careful(first + i, line)
                start = i + 1
        self._run(first + start, lines[start:], careful)

    def _run(self, first: int, lines: list[bytes], careful: Careful) -> None:
        if self.times == "delta":
            # The time since the line before: the lane's lines and the
            # careful ones share the renderer's clock, handed over at each
            # careful line.
            clock = self.clock

            def timed(lineno: int, line: bytes) -> None:
                clock.last_time = self._last
                careful(lineno, line)
                self._last = clock.last_time

            self._last = clock.last_time
            self._filtered(first, lines, timed)
            clock.last_time = self._last
        elif self.filters is not None or self.times is not None or self.mode == "text":
            self._filtered(first, lines, careful)
        elif self.mode == "labelled":
            self._labelled(first, lines, careful)
        elif self.mode == "blocks":
            self._blocks(first, lines, careful)
        elif self.mode == "json":
            self._json(first, lines, careful)
        elif self.mode == "records":
            self._records(first, lines, careful)
        else:
            self._raw(first, lines, careful)

    def _raw(self, first: int, lines: list[bytes], careful: Careful) -> None:
        decode = _decode
        routes = self._routes
        texts = self._texts
        stream = ""  # the run's stream ("": no run)
        table = self._no_run
        for i, line in enumerate(lines):
            try:
                ctx = decode(line).context
                data = ctx.data if ctx.encoding is None else text_of_base64(ctx.data)
                if ctx.stream == stream:
                    table[ctx.rank](data)  # KeyError: a rank not seen yet
                    continue
                new = routes[ctx.stream]
                add = new[ctx.rank]
                if texts:
                    self._write(stream)
                stream = ctx.stream
                table = new
                add(data)
                continue
            except Exception:
                pass  # the careful path says what is wrong with the line
            if texts:
                self._write(stream)
            stream = ""
            table = self._no_run
            careful(first + i, line)
        if texts:
            self._write(stream)
        self._hidden.clear()

    def _blocks(self, first: int, lines: list[bytes], careful: Careful) -> None:
        """Each task's texts are gathered, and handed on before any careful
        line and at the end of the batch (where an unfinished line is
        left to the task's next bytes)."""
        decode = _decode
        routes = self._routes
        dirty = self._dirty
        for i, line in enumerate(lines):
            try:
                ctx = decode(line).context
                data = ctx.data if ctx.encoding is None else text_of_base64(ctx.data)
                route = routes[ctx.stream][ctx.rank]  # KeyError: a rank not seen yet
                if route.__class__ is _Texts:  # one task
                    if not route:
                        dirty.append(route)
                    route.append(data)
                else:  # the tasks of an event of several (none: not shown)
                    for texts in route:
                        if not texts:
                            dirty.append(texts)
                        texts.append(data)
                continue
            except Exception:
                pass
            if dirty:
                self._write_tasks()
            careful(first + i, line)
        if dirty:
            self._write_tasks()

    def _write_tasks(self) -> None:
        tasks = self.tasks
        assert tasks is not None
        for texts in self._dirty:
            data = "".join(texts).encode(errors=BYTES)
            texts.clear()
            if data:
                tasks(texts.stream, texts.ranks, data)
        self._dirty.clear()

    def _labelled(self, first: int, lines: list[bytes], careful: Careful) -> None:
        decode = _decode
        routes = self._routes
        texts = self._texts
        held = self._held
        pending = self._pending
        stream = ""
        table = self._no_run
        for i, line in enumerate(lines):
            try:
                event = decode(line)
                ctx = event.context
                data = ctx.data if ctx.encoding is None else text_of_base64(ctx.data)
                if ctx.stream != stream:
                    new = routes[ctx.stream]
                    new[ctx.rank]  # KeyError: a rank not seen yet
                    if texts:
                        self._write(stream)
                    stream = ctx.stream
                    table = new
                route = table[ctx.rank]
                if route is False:  # a task the request does not show
                    continue
                if not held and not pending and data and data.find("\n") == len(data) - 1:
                    # One whole line, and no unfinished line anywhere.
                    if type(route) is str:
                        texts.append(route)
                    else:  # an event of several ranks: the line for each
                        texts.append(data.join(route))
                    texts.append(data)
                    continue
                if type(route) is str:
                    done = self._partial(stream, ctx.rank, data, event.timestamp)
                    if done is not None:
                        whole = done[1]
                        if "\n" in whole:
                            texts.append(route + whole.replace("\n", "\n" + route) + "\n")
                        else:
                            texts.append(route)
                            texts.append(whole + "\n")
                    continue
            except Exception:
                pass
            if texts:
                self._write(stream)
            stream = ""
            table = self._no_run
            if held:  # the careful path's assembler takes over the unfinished lines
                self.spill()
            careful(first + i, line)
        if texts:
            self._write(stream)

    def _filtered(self, first: int, lines: list[bytes], careful: Careful) -> None:
        """The lane of assembled lines that are filtered or timed (or not
        labelled): each event of one whole line of one task is a line,
        through the filters in order; the rest take the careful path.

        With --grep or --exclude, the lines of a run are gathered and the
        regexes searched over all of them at once (``_flush``)."""
        decode = _decode
        routes = self._routes
        texts = self._texts
        pending = self._pending
        ids = self._ids
        filters = self.filters
        low, high = -1.0, -1.0
        head: int | None = None
        tail: int | None = None
        holding = False
        counts: dict[tuple[str, int], int] = {}
        lane_tails: dict[tuple[str, int], Any] = {}
        numbers: Any = None
        window = False
        if filters is not None:
            head = filters.head
            tail = filters.tail
            holding = filters.holding
            counts = filters.counts
            lane_tails = filters.lane_tails
            numbers = filters.numbers
            bounds = filters.window()
            window = filters.since is not None or filters.until is not None
            span = self.span
            if window:
                if bounds is None:  # relative to a start not known yet
                    for i, line in enumerate(lines):
                        careful(first + i, line)
                    return
                low, high = bounds
        batch = self._batch
        times = self.times
        abs_times = times == "abs"
        zero = self.zero
        if self._bucket_zero != zero:
            self._bucket = (0.0, 0.0, "")
            self._bucket_zero = zero
        low_ms, high_ms, shown = self._bucket
        # Batched: the lines, and what else each needs once it has passed:
        # nothing (no label, head or time), its label, or (time, task, label).
        gathered = self._gathered
        meta = self._meta
        counting = head is not None or tail is not None
        full = counting or times is not None
        labels = self.mode == "labelled"
        stream = ""
        table = self._no_run
        misses = 0  # lines given to the careful path
        for i, line in enumerate(lines):
            try:
                event = decode(line)
                ctx = event.context
                data = ctx.data if ctx.encoding is None else text_of_base64(ctx.data)
                if ctx.stream != stream:
                    new = routes[ctx.stream]
                    new[ctx.rank]  # KeyError: a rank not seen yet
                    if texts or gathered:
                        self._flush(stream)
                    stream = ctx.stream
                    table = new
                route = table[ctx.rank]
                if route is False:  # a task the request does not show
                    continue
                if type(route) is not str or not data or data.find("\n") != len(data) - 1:
                    raise _Careful  # not one whole line of one task
                if pending and (stream, ids[stream][ctx.rank]) in pending:
                    raise _Careful  # it ends the task's unfinished line
                ts = event.timestamp
                if window:
                    if ts < span[0]:  # when the lines chosen from were written
                        span[0] = ts
                    if ts > span[1]:
                        span[1] = ts
                    if ts < low or ts > high:
                        continue
                if abs_times and ts - ts != 0.0:
                    raise _Careful  # no int() of it: the careful path says why
                if batch:
                    gathered.append(data)
                    if full:
                        meta.append((ts, ids[stream][ctx.rank], route))
                    elif labels:
                        meta.append(route)
                    continue
                if holding and head is None:  # --tail alone: its last lines, numbered
                    key = (stream, ids[stream][ctx.rank])
                    held = lane_tails.get(key)
                    if held is None:
                        filters.hold(key, False, ts, data)  # type: ignore[union-attr]
                    else:
                        held.append((next(numbers), ts, data))
                    continue
                if counting:  # counted last: nothing raises after
                    key = (stream, ids[stream][ctx.rank])
                    seen = counts.get(key, 0)
                    counts[key] = seen + 1
                    if holding:  # --tail, until the history is read
                        filters.hold(key, head is not None and seen < head, ts, data)  # type: ignore[union-attr]
                        continue
                    if tail is None and seen >= head:  # type: ignore[operator]
                        # Past --head, this task's every later line is too:
                        # the lane need not look at its events any more.
                        table[ctx.rank] = False
                        continue
                if times is not None:  # a line shown: its time (delta: the clock moves)
                    if low_ms < ts < high_ms:  # the millisecond of the last line's time
                        texts.append(shown)
                    else:
                        texts.append(self._stamp(ts, zero))
                        low_ms, high_ms, shown = self._bucket
                if route:
                    texts.append(route)
                texts.append(data)
                continue
            except Exception:
                pass
            if texts or gathered:
                self._flush(stream)
            stream = ""
            table = self._no_run
            careful(first + i, line)
            misses += 1
            if misses > PROBE and misses * 2 > i:
                # Most events are not whole lines (unbuffered output, several
                # ranks): the rest of the batch goes the careful way at once,
                # not decoded twice.
                for j in range(i + 1, len(lines)):
                    careful(first + j, lines[j])
                return
        if texts or gathered:
            self._flush(stream)

    def _flush(self, stream: str) -> None:
        """Write the run's lines (one stream): the gathered ones through
        the batched regexes, and --head, the time and the label."""
        gathered = self._gathered
        filters = self.filters
        texts = self._texts
        if gathered and filters is not None:
            meta = self._meta
            marks = _matching(gathered, *self._regexes)
            if not meta:  # the lines as they are
                texts.extend(gathered if marks is None else compress(gathered, marks))
            elif type(meta[0]) is str:  # each after its label
                both: Any = zip(meta, gathered, strict=True)
                texts.extend(chain.from_iterable(both if marks is None else compress(both, marks)))
            else:
                self._counted(stream, meta, gathered, marks, filters)
            gathered.clear()
            meta.clear()
        if texts:
            self._write(stream)

    def _counted(
        self,
        stream: str,
        meta: list[Any],
        datas: list[str],
        marks: bytearray | None,
        filters: LineFilter,
    ) -> None:
        """Gathered lines through --head and --tail, each after its time
        and label."""
        pairs: Any = zip(meta, datas, strict=True)
        head = filters.head
        tail = filters.tail
        counting = head is not None or tail is not None
        holding = filters.holding
        counts = filters.counts
        texts = self._texts
        times = self.times
        zero = self.zero
        for (ts, rank, route), data in pairs if marks is None else compress(pairs, marks):
            if counting:
                key = (stream, rank)
                seen = counts.get(key, 0)
                counts[key] = seen + 1
                if holding:
                    filters.hold(key, head is not None and seen < head, ts, data)
                    continue
                if tail is None and seen >= head:  # type: ignore[operator]
                    continue
            if times is not None:
                texts.append(self._stamp(ts, zero))
            if route:
                texts.append(route)
            texts.append(data)

    def _stamp(self, ts: float, zero: float | None) -> str:
        """The time before a line, as the renderer writes it uncoloured.

        The times within the same millisecond are shown the same: when it
        is sure that its neighbours are too, ``_bucket`` keeps the times
        (low, high) between which a line's time is shown as this one."""
        if self.times == "delta":  # as the renderer: +0.000s for the first
            last = self._last
            self._last = ts
            shift = ts - (ts if last is None else last)
            # Below half a millisecond (5 us less, for the float error), it
            # rounds to 0.000.
            return "+0.000s " if 0.0 <= shift < HALF_MS else f"+{shift:.3f}s "
        if self.times == "rel":
            shift = ts - (zero if zero is not None else ts)
            text = f"{shift:9.3f}s "
            if zero is not None and shift >= 0.001 and 0.0 < ts < SURE:
                # Within half a millisecond of the number shown, a time
                # rounds to it: 5 us less, for the float error (below 1 us).
                shown = float(text[:-2])
                self._bucket = (zero + shown - HALF_MS, zero + shown + HALF_MS, text)
            return text
        whole = int(ts)
        if self._second[0] != whole:
            self._second = self._second_shown(whole)
        if not self._second[1]:
            return f"{ts:.3f} "  # no time the C library can show
        ms = int((ts - whole) * 1000)
        text = f"{self._second[1]}.{ms:03d} "
        if 0.0 < ts < SURE and 0 <= ms < 1000:
            # 5 us inside the millisecond, int() gives the same second and
            # millisecond (float error here is below 1 us).
            low, high = whole + ms / 1000 + EDGE, whole + (ms + 1) / 1000 - EDGE
            self._bucket = (low, high, text)
        return text

    @staticmethod
    def _second_shown(whole: int) -> tuple[int, str]:
        """A second as local date and time ("": one the C library cannot show)."""
        try:
            return whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(whole))
        except (OverflowError, OSError, ValueError):
            return whole, ""

    def _json(self, first: int, lines: list[bytes], careful: Careful) -> None:
        """The lane of ``lines --json``: a record per line, as ``line_record``
        gives it (the route of a task is its rank)."""
        decode = _decode
        dumps = orjson.dumps
        routes = self._routes
        # The records are appended to one buffer as they are made: keeping
        # each of orjson's results alive instead costs a malloc chunk apiece.
        records = bytearray()
        held = self._held
        pending = self._pending
        job = self.job
        for i, line in enumerate(lines):
            try:
                event = decode(line)
                ctx = event.context
                stream = ctx.stream
                rank = routes[stream][ctx.rank]  # KeyError: a rank not seen yet
                dump: Callable[..., bytes] = dumps
                if ctx.encoding is None:
                    data = ctx.data
                else:  # its lines may not be UTF-8: _dump says so in the record
                    data = text_of_base64(ctx.data)
                    dump = _dump
                if rank is False:  # a task the request does not show
                    continue
                if not held and not pending and data and data.find("\n") == len(data) - 1:
                    for task in (rank,) if type(rank) is int else rank:
                        record = {
                            "job": job,
                            "rank": task,
                            "stream": stream,
                            "line": data[:-1],
                            "eol": True,
                            "timestamp": event.timestamp,
                        }
                        records += dump(record, option=NEWLINE)
                    continue
                if type(rank) is int:
                    done = self._partial(stream, ctx.rank, data, event.timestamp)
                    if done is not None:
                        start, whole = done
                        for text in whole.split("\n"):
                            record = {
                                "job": job,
                                "rank": rank,
                                "stream": stream,
                                "line": text,
                                "eol": True,
                                "timestamp": start,
                            }
                            # Its pieces may have come from base64 data.
                            records += _dump(record, option=NEWLINE)
                            start = event.timestamp  # the next lines began here
                    continue
            except Exception:
                pass
            if records:
                self._write_records(records)
            if held:
                self.spill()
            careful(first + i, line)
        if records:
            self._write_records(records)

    def _records(self, first: int, lines: list[bytes], careful: Careful) -> None:
        """The library's lane: a Line record per line, as the careful path's
        LineAssembler gives it (the route of a task is its rank)."""
        decode = _decode
        routes = self._routes
        emit = self.emit
        assert emit is not None
        out: list[Line] = []
        held = self._held
        pending = self._pending
        for i, line in enumerate(lines):
            try:
                event = decode(line)
                ctx = event.context
                stream = ctx.stream
                rank = routes[stream][ctx.rank]  # KeyError: a rank not seen yet
                data = ctx.data if ctx.encoding is None else text_of_base64(ctx.data)
                if rank is False:  # a task the request does not show
                    continue
                if not held and not pending and data and data.find("\n") == len(data) - 1:
                    text = data[:-1].encode(errors=BYTES)
                    ts = event.timestamp
                    if type(rank) is int:
                        out.append(Line(ts, stream, rank, text, True))
                    else:  # an event of several tasks: the line for each
                        out.extend(Line(ts, stream, task, text, True) for task in rank)
                    continue
                if type(rank) is int:
                    data.encode(errors=BYTES)  # fails here, before any state changes
                    done = self._partial(stream, ctx.rank, data, event.timestamp)
                    if done is not None:
                        start, whole = done
                        for piece in whole.split("\n"):
                            out.append(Line(start, stream, rank, piece.encode(errors=BYTES), True))
                            start = event.timestamp  # the next lines began here
                    continue
            except Exception:
                pass
            if out:
                emit(out)
                out = []
            if held:
                self.spill()
            careful(first + i, line)
        if out:
            emit(out)

    def _write_records(self, records: bytearray) -> None:
        self.write(0, [bytes(records)])
        records.clear()

    def _partial(self, stream: str, rank: str, data: str, ts: float) -> tuple[float, str] | None:
        """Part of a line, or several lines, of one task: completes its
        unfinished line as the assembler would. Gives the completed lines
        (joined, without their last newline) and the time of their first
        piece, or None. Raises _Careful when the careful path's assembler
        holds that task's unfinished line: the task is left to it."""
        key = (stream, self._ids[stream][rank])
        if key in self._pending:
            raise _Careful
        held = self._held
        end = data.rfind("\n")
        if end < 0:  # the line goes on: keep its pieces, joined once it ends
            if key in held:
                held[key][1].append(data)
            elif data:
                held[key] = (ts, [data])
            return None
        start = ts
        whole = data[:end]
        if key in held:
            start, pieces = held.pop(key)
            pieces.append(whole)
            whole = "".join(pieces)
        if end + 1 < len(data):
            held[key] = (ts, [data[end + 1 :]])
        return start, whole

    def spill(self) -> None:
        """Hand the unfinished lines to the careful path's assembler (before
        a careful line, and when the input ends)."""
        for (stream, rank), (start, pieces) in self._held.items():
            self.assembler.hold(stream, rank, start, "".join(pieces).encode(errors=BYTES))
        self._held.clear()

    def _write(self, stream: str) -> None:
        texts = self._texts
        self.write(0 if stream == "stdout" else 1, ["".join(texts).encode(errors=BYTES)])
        texts.clear()


def _matching(
    datas: list[str],
    include: list[tuple[re.Pattern[bytes], bool]],
    exclude: list[tuple[re.Pattern[bytes], bool]],
) -> bytearray | None:
    """Which of ``datas`` (lines, each with its newline) pass --grep and
    --exclude (regexes, each with whether it is line-local); None: all.

    The lines are joined and encoded once. A line-local regex is searched
    over them all, line after matching line (few matches: one scan in C);
    any other, or one that matches many lines, is searched over each line
    alone, split from the rest (no newline is part of a character's bytes),
    by map: either way, as the careful path searches each line's bytes."""
    text = "".join(datas)
    buffer = text.encode(errors=BYTES)
    count = len(datas)
    alone: list[bytes] = []

    def marks(pattern: re.Pattern[bytes], local: bool) -> bytearray:
        if local and len(buffer) == len(text):  # a character a byte: ends by length
            ends = _ends_matching(pattern, buffer, count // 8 + 64)
            if ends is not None:
                return bytearray(map(ends.__contains__, accumulate(map(len, datas))))
        if not alone:
            alone.extend(buffer.split(b"\n"))
            alone.pop()  # after the last newline
        return bytearray(map(bool, map(pattern.search, alone)))

    def either(found: list[bytearray]) -> int:
        return functools.reduce(operator.or_, (int.from_bytes(m, "big") for m in found))

    keep: int | None = None
    if include:
        keep = either([marks(p, local) for p, local in include])
    if exclude:
        hidden = either([marks(p, local) for p, local in exclude])
        everything = int.from_bytes(b"\x01" * count, "big")
        keep = (everything if keep is None else keep) & ~hidden & everything
    return None if keep is None else bytearray(keep.to_bytes(count, "big"))


def _ends_matching(pattern: re.Pattern[bytes], buffer: bytes, most: int) -> set[int] | None:
    """Where the lines of ``buffer`` that ``pattern`` (line-local) matches
    end (past their newline): a search from the start of each line after a
    match. None when more than ``most`` lines match: each line alone is
    faster then."""
    ends = set()
    search = pattern.search
    find = buffer.find
    size = len(buffer)
    pos = 0
    while (m := search(buffer, pos)) is not None:
        at = m.start()
        if at >= size:  # an empty match after the last line
            break
        pos = find(b"\n", at) + 1  # no match holds a newline: its line's
        ends.add(pos)
        if len(ends) > most:
            return None
    return ends
