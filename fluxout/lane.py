"""The fast lane: plain data events straight from JSON to the output.

Nearly every line of a big job's output eventlog is a plain data event
(``{"stream", "rank", "data"}``: one task's text, no encoding, no eof) of a
rank string already seen. The lane writes those with no record built, and
hands every other line to the careful path (``JobOutput``), in order.

Raw, events are gathered in runs (one stream, no careful line between), and
each run is checked, joined and encoded once when it ends (``_end_run``):
the per-event work is the JSON parse and a few dict lookups. A run whose
check fails (a data that is not a string) is given to the careful path
whole, line by line.

Labelled, each event is checked as it comes, and the lane completes lines
written in pieces itself, as the careful path's LineAssembler would: it
hands its unfinished lines to that assembler before any careful line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import orjson

from fluxout.lines import LineAssembler

# What a route is, per (stream, rank string), as JobOutput learns it:
# "" (raw: the data as it is), the label before each line (labelled), the
# labels of an event of several ranks (labelled), or False (not shown).
Route = str | list[str] | Literal[False]

STREAMS = ("stdout", "stderr")
NEWLINE = orjson.OPT_APPEND_NEWLINE

# Careful(line number, line, its parsed JSON or None): the careful path for
# one line (None: a line not parsed yet, or not JSON; the path parses it).
Careful = Callable[[int, bytes, object], None]
Write = Callable[[int, list[bytes]], None]


class _Careful(Exception):
    """Raised in the lane to give the line at hand to the careful path."""


class FastLane:
    """Writes the plain data events of one job, in batches of lines."""

    def __init__(self, mode: str, write: Write, assembler: LineAssembler, job: str = "") -> None:
        self.mode = mode  # "raw", "labelled" or "json" (lines --json)
        self.labelled = mode != "raw"
        self.job = job  # json: the job named in each record
        self.write = write
        self.assembler = assembler
        self._pending = assembler.pending  # its unfinished lines, by (stream, rank)
        # Raw: per stream, rank string -> the append method of the run's
        # texts, or of a discard list for a task that is not shown.
        # Labelled: per stream, rank string -> its Route.
        self._routes: dict[str, dict[str, Any]] = {s: {} for s in STREAMS}
        # Labelled: per stream, rank string of one task -> that task's rank.
        self._ids: dict[str, dict[str, int]] = {s: {} for s in STREAMS}
        # Labelled: the unfinished lines the lane holds: (stream, rank) ->
        # (the time of their first piece, their pieces).
        self._held: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self._texts: list[str] = []
        self._hidden: list[str] = []
        self._no_run: dict[str, Any] = {}  # the table while no run is open

    def learn(self, stream: str, rank: str, route: Route | None, task: int) -> None:
        """How the lane writes ``rank``'s events (None: it does not);
        ``task``: the rank of a rank string of one task."""
        if route is None:
            return
        table = self._routes[stream]
        if self.mode == "json":
            table[rank] = False if route is False else task
            self._ids[stream][rank] = task
        elif self.labelled:
            table[rank] = route
            self._ids[stream][rank] = task
        else:
            table[rank] = self._hidden.append if route is False else self._texts.append

    def knows(self, stream: str, rank: str) -> bool:
        return rank in self._routes.get(stream, ())

    def forget(self) -> None:
        """Labels changed (the task count is known): learn every rank again."""
        for table in self._routes.values():
            table.clear()

    def run(self, first: int, lines: list[bytes], careful: Careful) -> None:
        """Write ``lines`` (one batch, numbered from ``first``), giving the
        careful lines to ``careful``."""
        if self.mode == "labelled":
            self._labelled(first, lines, careful)
        elif self.mode == "json":
            self._json(first, lines, careful)
        else:
            self._raw(first, lines, careful)

    def _raw(self, first: int, lines: list[bytes], careful: Careful) -> None:
        loads = orjson.loads
        routes = self._routes
        texts = self._texts
        hidden = self._hidden
        stream = ""  # the run's stream ("": no run)
        table = self._no_run
        start = 0  # the index of the run's first line
        for i, line in enumerate(lines):
            try:
                obj = loads(line)
            except orjson.JSONDecodeError:
                obj = None
            else:
                try:
                    ctx = obj["context"]
                    if len(ctx) == 3 and obj["name"] == "data" and type(obj["timestamp"]) is float:
                        if ctx["stream"] == stream:
                            table[ctx["rank"]](ctx["data"])  # KeyError: a rank not seen yet
                            continue
                        new = routes[ctx["stream"]]
                        add = new[ctx["rank"]]
                        if texts or hidden:
                            self._end_run(stream, first, lines, start, i, careful)
                        stream = ctx["stream"]
                        table = new
                        start = i
                        add(ctx["data"])
                        continue
                except Exception:
                    pass  # the careful path says what is wrong with the line
            if texts or hidden:
                self._end_run(stream, first, lines, start, i, careful)
            stream = ""
            table = self._no_run
            careful(first + i, line, obj)
        if texts or hidden:
            self._end_run(stream, first, lines, start, len(lines), careful)

    def _labelled(self, first: int, lines: list[bytes], careful: Careful) -> None:
        """The labelled lane. Its events are checked one by one (a run never
        fails, so the unfinished lines it keeps are never redone)."""
        loads = orjson.loads
        routes = self._routes
        texts = self._texts
        held = self._held
        pending = self._pending
        stream = ""
        table = self._no_run
        for i, line in enumerate(lines):
            try:
                obj = loads(line)
            except orjson.JSONDecodeError:
                obj = None
            else:
                try:
                    ctx = obj["context"]
                    if len(ctx) == 3 and obj["name"] == "data" and type(obj["timestamp"]) is float:
                        if ctx["stream"] != stream:
                            new = routes[ctx["stream"]]
                            new[ctx["rank"]]  # KeyError: a rank not seen yet
                            if texts:
                                self._write(stream)
                            stream = ctx["stream"]
                            table = new
                        route = table[ctx["rank"]]
                        data = ctx["data"]
                        if route is False:  # a task the request does not show
                            if type(data) is str:
                                continue
                        # One whole line (str.find: data is a string), nothing held.
                        elif not held and not pending and data and data.find("\n") == len(data) - 1:
                            if type(route) is str:
                                texts.append(route)
                            else:  # an event of several ranks: the line for each
                                texts.append(data.join(route))
                            texts.append(data)
                            continue
                        elif type(route) is str and type(data) is str:
                            done = self._partial(stream, ctx["rank"], data, obj["timestamp"])
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
                self._spill()
            careful(first + i, line, obj)
        if texts:
            self._write(stream)

    def _json(self, first: int, lines: list[bytes], careful: Careful) -> None:
        """The lane of ``lines --json``: a record per line, as ``line_record``
        gives it (the route of a task is its rank)."""
        loads = orjson.loads
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
                obj = loads(line)
            except orjson.JSONDecodeError:
                obj = None
            else:
                try:
                    ctx = obj["context"]
                    ts = obj["timestamp"]
                    if len(ctx) == 3 and obj["name"] == "data" and type(ts) is float:
                        stream = ctx["stream"]
                        rank = routes[stream][ctx["rank"]]  # KeyError: not seen yet
                        data = ctx["data"]
                        if rank is False:  # a task the request does not show
                            if type(data) is str:
                                continue
                        elif not held and not pending and data and data.find("\n") == len(data) - 1:
                            records += dumps(
                                {
                                    "job": job,
                                    "rank": rank,
                                    "stream": stream,
                                    "line": data[:-1],
                                    "eol": True,
                                    "timestamp": ts,
                                },
                                option=NEWLINE,
                            )
                            continue
                        elif type(rank) is int and type(data) is str:
                            done = self._partial(stream, ctx["rank"], data, ts)
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
                                    records += dumps(record, option=NEWLINE)
                                    start = ts  # the next lines began in this event
                            continue
                except Exception:
                    pass
            if records:
                self._write_records(records)
            if held:
                self._spill()
            careful(first + i, line, obj)
        if records:
            self._write_records(records)

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

    def _spill(self) -> None:
        """Hand the unfinished lines to the careful path's assembler."""
        for (stream, rank), (start, pieces) in self._held.items():
            self.assembler.hold(stream, rank, start, "".join(pieces).encode())
        self._held.clear()

    def spill(self) -> None:
        """The input ended: the unfinished lines go to the assembler."""
        self._spill()

    def _write(self, stream: str) -> None:
        texts = self._texts
        self.write(0 if stream == "stdout" else 1, ["".join(texts).encode()])
        texts.clear()

    def _end_run(
        self,
        stream: str,
        first: int,
        lines: list[bytes],
        start: int,
        end: int,
        careful: Careful,
    ) -> None:
        """Check, join and write the run ``lines[start:end]`` (the batch is
        numbered from ``first``), or give it to the careful path: that is
        rare, so its lines are parsed again."""
        texts = self._texts
        hidden = self._hidden
        try:
            text = "".join(texts)
            if hidden:
                "".join(hidden)  # a hidden task's bad data is reported too
        except TypeError:  # a data that is not a string
            text = None
        texts.clear()
        hidden.clear()
        if text is not None:
            self.write(0 if stream == "stdout" else 1, [text.encode()])
            return
        for i in range(start, end):
            careful(first + i, lines[i], None)
