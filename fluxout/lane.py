"""The fast lane: plain data events straight from JSON to the output.

Nearly every line of a big job's output eventlog is a plain data event
(``{"stream", "rank", "data"}``: one task's text, no encoding, no eof) of a
rank string already seen. The lane writes those with no record built, and
hands every other line to the careful path (``JobOutput``), in order.

Its events are gathered in runs (one stream, no careful line between), and
each run is checked, joined and encoded once when it ends (``_end_run``):
the per-event work is the JSON parse and a few dict lookups. A run whose
check fails (a data that is not a string; labelled, an event that is not
exactly one line) is given to the careful path whole, line by line.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import orjson

# What a route is, per (stream, rank string), as JobOutput learns it:
# "" (raw: the data as it is), the label before each line (labelled), the
# labels of an event of several ranks (labelled), or False (not shown).
Route = str | list[str] | Literal[False]

STREAMS = ("stdout", "stderr")

# Careful(line number, line, its parsed JSON or None): the careful path for
# one line (None: a line not parsed yet, or not JSON; the path parses it).
Careful = Callable[[int, bytes, object], None]
Write = Callable[[int, list[bytes]], None]


class FastLane:
    """Writes the plain data events of one job, in batches of lines."""

    def __init__(self, labelled: bool, write: Write) -> None:
        self.labelled = labelled
        self.write = write
        # Raw: per stream, rank string -> the append method of the run's
        # texts, or of a discard list for a task that is not shown.
        # Labelled: per stream, rank string -> its Route.
        self._routes: dict[str, dict[str, Any]] = {s: {} for s in STREAMS}
        self._texts: list[str] = []
        self._hidden: list[str] = []
        self._no_run: dict[str, Any] = {}  # the table while no run is open

    def learn(self, stream: str, rank: str, route: Route | None) -> None:
        """How the lane writes ``rank``'s events (None: it does not)."""
        if route is None:
            return
        table = self._routes[stream]
        if self.labelled:
            table[rank] = route
        else:
            table[rank] = self._hidden.append if route is False else self._texts.append

    def knows(self, stream: str, rank: str) -> bool:
        return rank in self._routes.get(stream, ())

    def forget(self) -> None:
        """Labels changed (the task count is known): learn every rank again."""
        for table in self._routes.values():
            table.clear()

    def run(self, first: int, lines: list[bytes], careful: Careful, pending: object) -> None:
        """Write ``lines`` (one batch, numbered from ``first``), giving the
        careful lines to ``careful``.

        ``pending`` is truthy while a task has an unfinished line: then
        labelled events are the careful path's (its assembler's) to finish.
        """
        if self.labelled:
            self._labelled(first, lines, careful, pending)
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
                            self._end_run(stream, first, lines, start, i, careful, 0)
                        stream = ctx["stream"]
                        table = new
                        start = i
                        add(ctx["data"])
                        continue
                except Exception:
                    pass  # the careful path says what is wrong with the line
            if texts or hidden:
                self._end_run(stream, first, lines, start, i, careful, 0)
            stream = ""
            table = self._no_run
            careful(first + i, line, obj)
        if texts or hidden:
            self._end_run(stream, first, lines, start, len(lines), careful, 0)

    def _labelled(self, first: int, lines: list[bytes], careful: Careful, pending: object) -> None:
        loads = orjson.loads
        routes = self._routes
        texts = self._texts
        hidden = self._hidden
        stream = ""
        table = self._no_run
        start = 0
        extra = 0  # lines beyond one per event (events of several ranks)
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
                            if texts or hidden:
                                self._end_run(stream, first, lines, start, i, careful, extra)
                                extra = 0
                            stream = ctx["stream"]
                            table = new
                            start = i
                        route = table[ctx["rank"]]
                        if route is False:  # a task the request does not show
                            hidden.append(ctx["data"])  # still checked, as for the rest
                            continue
                        data = ctx["data"]
                        # One line of its own: the run's check counts the newlines.
                        if data[-1] == "\n" and not pending:
                            if type(route) is str:
                                texts.append(route)
                            else:
                                texts.append(data.join(route))
                                extra += len(route) - 1
                            texts.append(data)
                            continue
                except Exception:
                    pass
            if texts or hidden:
                self._end_run(stream, first, lines, start, i, careful, extra)
                extra = 0
            stream = ""
            table = self._no_run
            careful(first + i, line, obj)
        if texts or hidden:
            self._end_run(stream, first, lines, start, len(lines), careful, extra)

    def _end_run(
        self,
        stream: str,
        first: int,
        lines: list[bytes],
        start: int,
        end: int,
        careful: Careful,
        extra: int,
    ) -> None:
        """Check, join and write the run ``lines[start:end]`` (the batch is
        numbered from ``first``), or give it to the careful path: that is
        rare, so its lines are parsed again."""
        texts = self._texts
        hidden = self._hidden
        events = len(texts) // 2 + extra  # labelled: a label and a line per event
        try:
            text = "".join(texts)
            if hidden:
                "".join(hidden)  # a hidden task's bad data is reported too
        except TypeError:  # a data that is not a string
            text = None
        texts.clear()
        hidden.clear()
        if text is not None and (not self.labelled or text.count("\n") == events):
            self.write(0 if stream == "stdout" else 1, [text.encode()])
            return
        for i in range(start, end):
            careful(first + i, lines[i], None)
