"""fluxout as a library: the output of Flux jobs as Line records, and their events.

    from fluxout.library import lines

    for line in lines("ƒ2BC", follow=True):
        print(line.rank, line.stream, line.text.decode(errors="replace"))

A JOB is what the command line takes: a jobid in any form Flux accepts
(``ƒ2BC``, ``f2BC``, decimal, ``0x`` hex, dothex, ``job.0000.…``, words),
an ``int`` or a ``flux.job.JobID``, or a path to a saved output eventlog or
to a directory holding ``eventlog`` / ``exec.eventlog`` / ``output.eventlog``
(``-`` for stdin). A path needs no Flux at all. Jobids are read from the
instance at ``uri`` (default ``FLUX_URI``), or through ``handle``, a
``flux.Flux`` handle of the caller's; the jobs of one call share one handle
and one reactor. (While a generator reading through the caller's handle is
suspended, that handle's reactor must not run, nor another generator on
it: a bulk read of a finished job keeps requests in flight between
records, whose answers would be lost. Give several jobs to one call.)

This is the core the ``fluxout`` command runs (fluxout.job's pipeline, the
sources the CLI reads), with a renderer that collects records instead of
writing bytes (fluxout.collect). The records come chunk by chunk as the
source delivers them: memory is bounded by a chunk of eventlog, not by the
job's output, and with ``follow`` they come as the job writes them, until
the job is over.

Lines are whole: a task's partial writes are completed by its later writes
before the line is given, per (stream, task), so lines of different tasks
never mix; a last line without a newline comes last, ``eol=False``. An
event written for several tasks gives each task its line.

Bad eventlog lines are skipped and reported through ``on_problem`` (one
line of text each), by default as an ``EventlogWarning`` (``warnings``).
Errors about a job (no such job, not yours, the instance went away) raise
``fluxout.errors.FluxoutError`` (``NotFoundError`` for no such job or path,
``NoFluxError`` when the Flux bindings are missing); bad arguments raise
``ValueError``.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar

from fluxout.collect import Collector
from fluxout.eventlog import Event
from fluxout.events import EventReader, entries, wanted_event, wanted_eventlogs
from fluxout.filters import LineFilter, TimeBound, compile_regex, parse_time_bound
from fluxout.idset import IdSet, parse_task_filter
from fluxout.job import ALL_STREAMS, JobOutput, OutputOptions, Problems, Selection
from fluxout.jobid import parse_jobid
from fluxout.sources.base import EVENTLOGS, IDLE, Notice, Source
from fluxout.sources.flux.loop import OVER, Instance, View, follow_together

if TYPE_CHECKING:
    from fluxout.watch import Request

__all__ = [
    "EVENTLOGS",
    "STREAMS",
    "Entry",
    "EventlogWarning",
    "Instance",
    "Line",
    "Reader",
    "events",
    "lines",
    "open_job",
    "read",
]

STREAMS = ("stdout", "stderr")

# What the functions take.
Job = str | int | os.PathLike[str]
Tasks = str | int | Iterable[int] | IdSet | None
Streams = str | Iterable[str]
Patterns = str | bytes | re.Pattern[Any] | Iterable[str | bytes | re.Pattern[Any]]
When = float | int | str | datetime | timedelta | None
Report = Callable[[str], None]


class EventlogWarning(UserWarning):
    """A bad eventlog line, skipped (the default ``on_problem``)."""


class Line(NamedTuple):
    """One line of one task's stream.

    ``text`` is the line's bytes exactly as the task wrote them, without
    its newline; ``eol`` is False only for a last line that never got one.
    ``timestamp`` is when the line's first byte was written (epoch
    seconds). ``job`` names the job as it was given (``str(job)``).
    """

    job: str
    rank: int
    stream: str  # "stdout" or "stderr"
    text: bytes
    eol: bool
    timestamp: float

    def decode(self, errors: str = "replace") -> str:
        """The text as str (UTF-8; ``errors`` as bytes.decode takes it)."""
        return self.text.decode("utf-8", errors)


class Entry(NamedTuple):
    """One eventlog entry (RFC 18) of a job."""

    job: str
    eventlog: str  # "main", "exec" or "output" (guest.output)
    timestamp: float
    name: str
    context: dict[str, Any]


# -- arguments ------------------------------------------------------------


def _tasks(tasks: Tasks) -> IdSet | None:
    """None (every task), an idset string ("0-3", "all"), a rank, some ranks."""
    if tasks is None or isinstance(tasks, IdSet):
        return tasks
    if isinstance(tasks, str):
        return parse_task_filter(tasks)
    if isinstance(tasks, bool):
        raise TypeError("tasks must be an idset string, a rank or ranks, not a bool")
    if isinstance(tasks, int):
        return IdSet.of((tasks,))
    ranks = list(tasks)
    if any(isinstance(r, bool) or not isinstance(r, int) or r < 0 for r in ranks):
        raise ValueError(f"tasks must be ranks (ints >= 0): {ranks!r}")
    return IdSet.of(ranks)


def _streams(streams: Streams) -> frozenset[str]:
    names = (streams,) if isinstance(streams, str) else tuple(streams)
    if "all" in names:
        return ALL_STREAMS
    unknown = [s for s in names if s not in STREAMS]
    if unknown or not names:
        raise ValueError(f"streams are stdout, stderr or all, not {unknown or 'nothing'}")
    return frozenset(names)


def _eventlogs(eventlogs: str | Iterable[str]) -> frozenset[str]:
    names = (eventlogs,) if isinstance(eventlogs, str) else tuple(eventlogs)
    if "all" in names:
        return frozenset(EVENTLOGS)
    unknown = [e for e in names if e not in EVENTLOGS]
    if unknown or not names:
        raise ValueError(f"eventlogs are main, exec, output or all, not {unknown or 'nothing'}")
    return frozenset(names)


def _patterns(patterns: Patterns) -> list[re.Pattern[bytes]]:
    """Regexes matched against each line's bytes."""
    if isinstance(patterns, (str, bytes, re.Pattern)):
        patterns = [patterns]
    out: list[re.Pattern[bytes]] = []
    for p in patterns:
        if isinstance(p, str):
            out.append(compile_regex(p))
        elif isinstance(p, bytes):
            out.append(re.compile(p))
        elif isinstance(p.pattern, bytes):
            out.append(p)
        else:  # a str pattern, made one of bytes with its flags (but UNICODE)
            out.append(re.compile(p.pattern.encode(), p.flags & ~re.UNICODE))
    return out


def _when(when: When) -> TimeBound | None:
    """Seconds (or a timedelta) after the job's start, an absolute datetime,
    or what --since/--until take ("10s", "2m", "10:00:00", "@EPOCH")."""
    if when is None:
        return None
    if isinstance(when, str):
        return parse_time_bound(when)
    if isinstance(when, datetime):
        return TimeBound(when.timestamp(), True)
    if isinstance(when, timedelta):
        return TimeBound(when.total_seconds(), False)
    if isinstance(when, bool) or not isinstance(when, (int, float)):
        raise TypeError(f"a time is seconds, a timedelta, a datetime or a str, not {when!r}")
    return TimeBound(float(when), False)


def _count(name: str, value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValueError(f"{name} must be a count (an int >= 0), not {value!r}")
    return value


def _report(on_problem: Report | None) -> Report:
    if on_problem is not None:
        return on_problem

    def warn(text: str) -> None:
        warnings.warn(text, EventlogWarning, stacklevel=2)

    return warn


# -- where a job is read from ----------------------------------------------


def job_name(job: Job) -> str:
    """How a job is named in records and messages: as it was given."""
    return os.fspath(job) if isinstance(job, os.PathLike) else str(job)


def open_job(job: Job, instance: Instance) -> Source:
    """A JOB as the command line takes it, as a source: a path (or ``-``)
    is read with no Flux; a jobid (or an int) from the instance."""
    from fluxout.sources.target import is_path_argument

    if isinstance(job, bool):
        raise TypeError("a job is a jobid, an int or a path, not a bool")
    if isinstance(job, int):
        jobid, spelled = int(job), str(job)
    elif isinstance(job, os.PathLike) or is_path_argument(job):
        from fluxout.sources.file import open_path

        return open_path(job_name(job))
    else:
        jobid, spelled = parse_jobid(job), job
    from fluxout.sources.flux.source import open_job as open_live

    return open_live(jobid, spelled, instance.uri, instance.boundary(spelled))


# -- reading jobs, one or several at once ----------------------------------

T = TypeVar("T")


class Reader(Protocol[T]):
    """One job being read: fed its source's chunks, it gives records."""

    @property
    def source(self) -> Source: ...
    @property
    def wanted(self) -> frozenset[str]: ...
    def feed(self, eventlog: str, chunk: bytes | Notice) -> None: ...
    def idle(self) -> bool: ...
    def finish(self) -> None: ...
    def take(self) -> list[T]: ...


def _close(chunks: Iterator[object]) -> None:
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def read_alone(reader: Reader[T], follow: bool) -> Iterator[T]:
    """One job's records, chunk by chunk (following: until it is over)."""
    chunks = reader.source.chunks(follow, reader.wanted)
    try:
        for eventlog, chunk in chunks:
            if eventlog == IDLE:
                over = reader.idle()
                yield from reader.take()
                if over:
                    break
                continue
            reader.feed(eventlog, chunk)
            yield from reader.take()
    finally:
        _close(chunks)
    reader.finish()
    yield from reader.take()


def _reading(reader: Reader[Any]) -> bool:
    """Whether the reader's source is in a bulk read of the shared boundary
    (its next chunks must come before the reactor runs for another job)."""
    boundary = getattr(reader.source, "boundary", None)
    return isinstance(boundary, View) and boundary.reading


def _round_robin(readers: list[Reader[T]]) -> Iterator[T]:
    """Several jobs followed at once, in one thread, saved ones among them:
    a chunk of each in turn, records as they come, until every job is over."""
    live = [(reader, reader.source.chunks(True, reader.wanted)) for reader in readers]
    try:
        while live:
            for pair in list(live):
                reader, chunks = pair
                over = False
                while True:
                    try:
                        eventlog, chunk = next(chunks)
                    except StopIteration:
                        over = True
                        break
                    if eventlog == IDLE:
                        over = reader.idle()
                        break
                    reader.feed(eventlog, chunk)
                    if not _reading(reader):
                        break
                    yield from reader.take()
                yield from reader.take()
                if over:
                    _close(chunks)
                    live.remove(pair)
                    reader.finish()
                    yield from reader.take()
    finally:
        for _, chunks in live:
            _close(chunks)


def read_together(readers: list[Reader[T]]) -> Iterator[T]:
    """Several jobs followed at once, in one thread: records as they come,
    until every job is over. Jobs of an instance (all of them) are followed
    push-driven on its one reactor (fluxout.sources.flux.loop)."""
    if not all(isinstance(getattr(r.source, "boundary", None), View) for r in readers):
        yield from _round_robin(readers)
        return
    for reader, end in follow_together(readers):
        yield from reader.take()
        if isinstance(end, Exception):
            raise end
        if end == OVER:
            reader.finish()
            yield from reader.take()


def read(readers: list[Reader[T]], follow: bool) -> Iterator[T]:
    if follow and len(readers) > 1:
        yield from read_together(readers)
        return
    for reader in readers:
        yield from read_alone(reader, follow)


# -- lines ------------------------------------------------------------------


@dataclass
class LineRequest:
    """What ``lines`` was asked, checked."""

    tasks: IdSet | None
    streams: frozenset[str]
    include: list[re.Pattern[bytes]]
    exclude: list[re.Pattern[bytes]]
    since: TimeBound | None
    until: TimeBound | None
    head: int | None
    tail: int | None

    def options(self) -> OutputOptions:
        filters = LineFilter(
            include=list(self.include),
            exclude=list(self.exclude),
            since=self.since,
            until=self.until,
            head=self.head,
            tail=self.tail,
        )
        # log_level -1: no shell log messages (events() has them).
        return OutputOptions(
            tasks=self.tasks,
            streams=self.streams,
            mode="lines",
            log_level=-1,
            filters=filters,
            lane="records",
        )


class LineReader:
    """One job's lines: its source through the pipeline, as Line records."""

    def __init__(self, source: Source, job: str, options: OutputOptions, report: Report) -> None:
        self.source = source
        self.wanted = frozenset(EVENTLOGS)
        self.job = job
        self.out = Collector(report)
        self.pipeline = JobOutput(source.name, "main" in source.eventlogs, options, self.out)

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        self.pipeline.feed(eventlog, chunk)

    def idle(self) -> bool:
        return self.pipeline.idle()

    def finish(self) -> None:
        self.pipeline.finish()

    def take(self) -> list[Line]:
        job = self.job
        new = tuple.__new__
        records: list[Line] = []
        for item in self.out.take():
            if isinstance(item, list):
                records += [new(Line, (job, x[2], x[1], x[3], x[4], x[0])) for x in item]
        return records


def lines(
    *jobs: Job,
    uri: str | None = None,
    handle: Any = None,
    tasks: Tasks = None,
    streams: Streams = STREAMS,
    grep: Patterns = (),
    exclude: Patterns = (),
    since: When = None,
    until: When = None,
    head: int | None = None,
    tail: int | None = None,
    follow: bool = False,
    on_problem: Report | None = None,
) -> Iterator[Line]:
    """The lines of one job or several, as Line records.

    Each job's lines come in the order they were completed; several jobs
    come one after the other, or, with ``follow``, all at once as their
    lines come (one handle, one reactor, one thread), each Line naming its
    job. Without ``follow`` a job's lines are those it has so far.

    Filters, as the command line's: ``tasks`` (an idset string such as
    ``"0-3"``, a rank, or ranks), ``streams`` (``"stdout"``, ``"stderr"``
    or both), ``grep`` and ``exclude`` (regexes, str or bytes, matched
    against each line's bytes: a line is kept when it matches one of
    ``grep`` and none of ``exclude``), ``since`` and ``until`` (seconds or
    a timedelta after the job's start, a datetime, or a string as
    ``--since`` takes it), ``head`` and ``tail`` (the first or last N
    lines of each task and stream; with ``follow``, ``tail`` gives the last
    N lines so far, then every new one).

    Jobs are opened (and checked: no such job raises NotFoundError) when
    this is called; the lines are read as they are iterated.
    """
    if not jobs:
        raise TypeError("lines() needs a job")
    request = LineRequest(
        tasks=_tasks(tasks),
        streams=_streams(streams),
        include=_patterns(grep),
        exclude=_patterns(exclude),
        since=_when(since),
        until=_when(until),
        head=_count("head", head),
        tail=_count("tail", tail),
    )
    report = _report(on_problem)
    instance = Instance(uri, handle)
    readers: list[Reader[Line]] = [
        LineReader(open_job(job, instance), job_name(job), request.options(), report)
        for job in jobs
    ]
    return read(readers, follow)


# -- events -----------------------------------------------------------------


class EntryReader:
    """One job's eventlog entries, as Entry records (following)."""

    def __init__(
        self, source: Source, job: str, request: Request, problems: Problems, select: Selection
    ) -> None:
        self.source = source
        self.job = job
        self.request = request
        self.select = select
        self.problems = problems
        self.wanted = wanted_eventlogs(source, request)
        self.reader = EventReader(source, self.wanted, problems)
        self._taken: list[tuple[str, Event]] = []

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        self._taken += self.reader.feed(eventlog, chunk)

    def idle(self) -> bool:
        return self.reader.over

    def finish(self) -> None:
        self._taken += self.reader.end()

    def take(self) -> list[Entry]:
        taken, self._taken = self._taken, []
        return [
            Entry(self.job, eventlog, event.timestamp, event.name, event.context)
            for eventlog, event in taken
            if wanted_event(event, eventlog, self.request, self.select)
        ]


def events(
    *jobs: Job,
    uri: str | None = None,
    handle: Any = None,
    eventlogs: str | Iterable[str] = EVENTLOGS,
    tasks: Tasks = None,
    streams: Streams = STREAMS,
    follow: bool = False,
    on_problem: Report | None = None,
) -> Iterator[Entry]:
    """The eventlog entries of one job or several, as Entry records.

    ``eventlogs``: which of ``main``, ``exec`` and ``output`` (all by
    default). Without ``follow`` a job's entries are merged by time (as
    ``fluxout events`` shows them); with it they come as they are posted,
    until the job is over, several jobs at once. ``tasks`` and ``streams``
    select among the output eventlog's entries as ``lines`` does.
    """
    if not jobs:
        raise TypeError("events() needs a job")
    from fluxout.watch import Request

    request = Request(
        command="events",
        jobs=[job_name(job) for job in jobs],
        tasks=_tasks(tasks),
        streams=_streams(streams),
        follow=follow,
        eventlogs=_eventlogs(eventlogs),
    )
    report = _report(on_problem)
    instance = Instance(uri, handle)
    sources = [(open_job(job, instance), job_name(job)) for job in jobs]
    if follow:
        readers: list[Reader[Entry]] = [
            EntryReader(
                source, name, request, Problems(source.name, report), Selection(request.tasks)
            )
            for source, name in sources
        ]
        return read(readers, True)
    return _merged(sources, request, report)


def _merged(sources: list[tuple[Source, str]], request: Request, report: Report) -> Iterator[Entry]:
    for source, name in sources:
        problems = Problems(source.name, report)
        select = Selection(request.tasks)
        for eventlog, event in entries(source, request, problems):
            if wanted_event(event, eventlog, request, select):
                yield Entry(name, eventlog, event.timestamp, event.name, event.context)
