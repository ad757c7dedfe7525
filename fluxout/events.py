"""The events command: every eventlog entry of a job, merged by time.

``show_events`` reads the eventlogs a request wants from a source, decodes
them, keeps the entries of the wanted tasks and streams, and hands each to
an EventsRenderer; following, it stops once the job is over. The core
(watch.py) runs it for each JOB.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from typing import TYPE_CHECKING

from fluxout.errors import FluxoutError
from fluxout.eventlog import (
    Event,
    FirstEntry,
    LineSplitter,
    Problem,
    decode_events,
    event_ranks,
)
from fluxout.exit import ExitStatus
from fluxout.idset import IdSet
from fluxout.job import (
    ALL_STREAMS,
    Problems,
    Selection,
    no_task_selected,
    take_notice,
)
from fluxout.jobstate import JobState
from fluxout.render.records import EventsRenderer
from fluxout.sources.base import IDLE, Notice, Source

if TYPE_CHECKING:
    from fluxout.watch import Request

__all__ = ["EventReader", "entries", "show_events", "wanted_event", "wanted_eventlogs"]


def _event_ranks(event: Event) -> IdSet | None:
    rank = event.context.get("rank")
    if isinstance(rank, bool):
        return None
    if isinstance(rank, int) and rank >= 0:
        return IdSet(((rank, rank),))
    if isinstance(rank, str):
        try:
            return event_ranks(rank)
        except ValueError:
            return None
    return None


def _wanted_event(event: Event, eventlog: str, req: Request, select: Selection) -> bool:
    if eventlog != "output":
        return True
    if event.name == "log":  # -L: shell log messages at or above the level
        level = event.context.get("level")
        if isinstance(level, int) and not isinstance(level, bool) and level > req.log_level:
            return False
    stream = event.context.get("stream")
    if isinstance(stream, str) and stream not in req.streams:
        return False
    if req.tasks is None:
        return True
    ranks = _event_ranks(event)
    if ranks is None:
        return True
    return bool(select(ranks.format(), ranks))


def _see(state: JobState, eventlog: str, event: Event) -> None:
    """An event, as the job's state takes it (the output's as records would)."""
    if eventlog == "main":
        state.main(event)
    elif eventlog == "exec":
        state.exec(event)
    elif eventlog == "output":
        ctx = event.context
        if event.name == "header":
            count = ctx.get("count")
            state.completion.header(count if isinstance(count, dict) else {})
        elif event.name == "redirect" or (event.name == "data" and ctx.get("eof") is True):
            ranks = _event_ranks(event)
            stream = ctx.get("stream")
            if ranks is not None and isinstance(stream, str) and stream in ALL_STREAMS:
                state.completion.end(stream, ranks)


class EventReader:
    """One job's eventlog entries, decoded as its source's chunks arrive:
    ``feed`` gives the entries a chunk completes, ``over`` tells (when
    following) that the job is, ``end`` gives a last line without its
    newline. The library (fluxout.library) feeds several at once."""

    def __init__(self, source: Source, wanted: frozenset[str], warn: Problems) -> None:
        self.warn = warn
        self.splitters = {name: LineSplitter() for name in wanted}
        self.firsts = {name: FirstEntry(name) for name in wanted}
        # events -f ends when the job is over, as follow decides it.
        self.state = JobState("main" in wanted and "main" in source.eventlogs)

    @property
    def over(self) -> bool:
        return self.state.over

    def feed(self, eventlog: str, chunk: bytes | Notice) -> list[tuple[str, Event]]:
        warn = self.warn
        if isinstance(chunk, Notice):
            # A lost part too is told as a warning here, where JobOutput
            # tells it as an error; it counts as one all the same (status 1).
            if take_notice(chunk, eventlog, warn, self.splitters, warn.report):
                self.state.has_main = False
            return []
        return self.decode(eventlog, self.splitters[eventlog].feed(chunk))

    def decode(self, eventlog: str, lines: list[tuple[int, bytes]]) -> list[tuple[str, Event]]:
        """The entries of these lines of one eventlog (split by its splitter):
        ``feed``'s second half, for a caller that takes some lines itself."""
        events = list(decode_events(lines, self.warn, eventlog, self.firsts[eventlog]))
        for event in events:
            _see(self.state, eventlog, event)
        return [(eventlog, event) for event in events]

    def end(self) -> list[tuple[str, Event]]:
        return [
            (eventlog, event)
            for eventlog, splitter in self.splitters.items()
            for event in decode_events(splitter.end(), self.warn, eventlog, self.firsts[eventlog])
        ]


def _decoded(
    source: Source, req: Request, wanted: frozenset[str], warn: Problems
) -> Iterator[tuple[str, Event]]:
    reader = EventReader(source, wanted, warn)
    for eventlog, chunk in source.chunks(req.follow, wanted):
        if eventlog == IDLE:
            if reader.over:
                break
            continue
        yield from reader.feed(eventlog, chunk)
    yield from reader.end()


def _submit_time(source: Source) -> float | None:
    """When the job was submitted: its main eventlog's first event, read
    apart when the main eventlog is not shown (None if it has none).

    Only a source of several eventlogs gets here, never a pipe (read once).
    Problems are told where the main eventlog is shown, not here.
    """
    splitter = LineSplitter()
    first = FirstEntry("main")
    chunks = source.chunks(False, frozenset(("main",)))
    try:
        for eventlog, chunk in chunks:
            if eventlog != "main" or isinstance(chunk, Notice):
                continue
            for event in decode_events(splitter.feed(chunk), _ignore, "main", first):
                return event.timestamp
        for event in decode_events(splitter.end(), _ignore, "main", first):
            return event.timestamp
    except FluxoutError:
        pass  # the job's events are still shown, from their first one
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return None


def _ignore(problem: Problem) -> None:
    pass


def wanted_eventlogs(source: Source, req: Request) -> frozenset[str]:
    """The eventlogs of the request that the source has."""
    return req.eventlogs & source.eventlogs if source.eventlogs else req.eventlogs


def wanted_event(event: Event, eventlog: str, req: Request, select: Selection) -> bool:
    """Whether the request shows this entry (its tasks and streams)."""
    return _wanted_event(event, eventlog, req, select)


def entries(source: Source, req: Request, problems: Problems) -> Iterator[tuple[str, Event]]:
    """Every entry of the eventlogs a request wants, merged by time unless
    following (``wanted_event`` tells which of them it shows)."""
    wanted = wanted_eventlogs(source, req)
    if req.follow or len(wanted) < 2:
        stream: Iterator[tuple[str, Event]] = _decoded(source, req, wanted, problems)
    else:
        # The small main and exec eventlogs are read whole; the output
        # eventlog streams past them, merged by timestamp.
        small = sorted(
            _decoded(source, req, wanted - {"output"}, problems),
            key=lambda pair: pair[1].timestamp,
        )
        rest = _decoded(source, req, wanted & {"output"}, problems)
        stream = heapq.merge(small, rest, key=lambda pair: pair[1].timestamp)
    return stream


def show_events(source: Source, req: Request, out: EventsRenderer, label: str | None = None) -> int:
    """events: every eventlog entry, merged by time unless following.
    ``label`` names the job in a warning about it (default: the source's name)."""
    problems = Problems(source.name, out.warning)
    select = Selection(req.tasks)
    wanted = wanted_eventlogs(source, req)
    # Times count from the job's submit, whichever eventlogs are shown;
    # without a main eventlog, from the first event shown.
    apart = wanted and "main" not in wanted and "main" in source.eventlogs
    zero = _submit_time(source) if apart else None
    told = False  # -t selects none of the job's tasks: said
    for eventlog, event in entries(source, req, problems):
        if zero is None:
            zero = event.timestamp
        if eventlog == "output" and event.name == "header" and not told:
            count = event.context.get("count")
            why = no_task_selected(
                req.tasks, count.get("stdout") if isinstance(count, dict) else None
            )
            if why is not None:
                told = True
                out.warning(f"{label or source.name}: warning: {why}")
        if _wanted_event(event, eventlog, req, select):
            out.entry(eventlog, event, zero)
            out.batch_done()
    problems.summary()
    return ExitStatus.ERROR if problems.errors else ExitStatus.SUCCESS
