"""The core: source -> records -> renderer, for each job of a request.

Nothing here knows Click, rich or flux: the CLI builds a ``Request``, the
sources give eventlog bytes, the renderers write.  The functions return the
exit status for their job; errors about a job are raised as FluxoutError.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fluxout.errors import ExitStatus, FluxoutError
from fluxout.eventlog import (
    Data,
    Event,
    Header,
    LineSplitter,
    Log,
    OutputDecoder,
    OutputRecord,
    Problem,
    Redirect,
    decode_events,
)
from fluxout.idset import IdSet
from fluxout.lines import LineAssembler
from fluxout.render.output import TextRenderer
from fluxout.render.records import EventsRenderer, LinesRenderer
from fluxout.render.terminal import Terminal
from fluxout.sources.base import IDLE, Source
from fluxout.status import JobInfo, format_exception

ALL_STREAMS = frozenset(("stdout", "stderr"))


@dataclass
class Request:
    """What the user asked for, independent of how they asked."""

    command: str  # cat, follow, events, lines
    jobs: list[str]
    tasks: IdSet | None = None  # None: every task
    streams: frozenset[str] = ALL_STREAMS
    label: bool = False
    unbuffered: bool = False
    log_level: int = 7
    color: str = "auto"
    uri: str | None = None
    json: bool = False
    follow: bool = False  # follow, cat --wait, events -f
    eventlogs: frozenset[str] = field(
        default_factory=lambda: frozenset(("main", "exec", "output"))
    )
    debug: bool = False


class _Selection:
    """Which ranks of an event the request wants; cached per rank string."""

    def __init__(self, tasks: IdSet | None) -> None:
        self.tasks = tasks
        self._cache: dict[str, IdSet] = {}

    def __call__(self, rank: str, ranks: IdSet) -> IdSet:
        if self.tasks is None:
            return ranks
        sel = self._cache.get(rank)
        if sel is None:
            sel = self._cache[rank] = ranks.intersect(self.tasks)
        return sel


class _Problems:
    """Counts bad input and reports each problem once, as it is found."""

    def __init__(self, job: str, report: Callable[[str], None]) -> None:
        self.job = job
        self.report = report
        self.errors = 0

    def __call__(self, problem: Problem) -> None:
        if problem.severity == "error":
            self.errors += 1
            self.report(f"{self.job}: {problem}")
        else:
            self.report(f"{self.job}: warning: {problem}")


class _Completion:
    """Tracks when every stream of every task has ended (eof or redirect)."""

    def __init__(self) -> None:
        self.expected: dict[str, int] | None = None
        self.ended: dict[str, set[int]] = {"stdout": set(), "stderr": set()}

    def header(self, rec: Header) -> None:
        count = rec.count
        self.expected = {
            s: count[s] if isinstance(count.get(s), int) else 0
            for s in ("stdout", "stderr")
        }

    def end(self, stream: str, ranks: IdSet) -> None:
        if len(ranks) == 1:
            self.ended[stream].add(ranks.first)
        else:
            self.ended[stream].update(ranks)

    @property
    def complete(self) -> bool:
        if self.expected is None:
            return False
        return all(len(self.ended[s]) >= n for s, n in self.expected.items())


class _Output:
    """One job's output through one TextRenderer: the cat/follow pipeline."""

    def __init__(
        self,
        source: Source,
        req: Request,
        out: TextRenderer | LinesRenderer,
        mode: str | None = None,
    ) -> None:
        self.source = source
        self.req = req
        self.out = out
        self.problems = _Problems(source.name, out.warning)
        self.info = JobInfo()
        self.decoder = OutputDecoder(self.problems)
        self.assembler = LineAssembler()
        self.completion = _Completion()
        self.select = _Selection(req.tasks)
        self.zero: float | None = None
        self.has_main = "main" in source.eventlogs
        # How job data is written: as is, one label per event (attach -l -u),
        # or as labelled lines assembled per (stream, rank).
        if mode is not None:
            self.mode = mode
        elif not req.label:
            self.mode = "raw"
        elif req.unbuffered:
            self.mode = "event"
        else:
            self.mode = "lines"

    def run(self) -> int:
        splitters = {name: LineSplitter() for name in ("main", "exec", "output")}
        wanted = frozenset(("main", "exec", "output"))
        chunks = self.source.chunks(self.req.follow, wanted)
        try:
            for eventlog, chunk in chunks:
                if eventlog == IDLE:
                    if self._over():
                        break
                    continue
                self._lines(eventlog, splitters[eventlog].feed(chunk))
                self.out.batch_done()
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        for eventlog, splitter in splitters.items():
            self._lines(eventlog, splitter.end())
        if self.mode == "lines":
            self.out.lines(self.assembler.end_all(), self.zero)
        return self._status()

    def _over(self) -> bool:
        if self.has_main:
            return self.info.clean or (
                self.info.finish_status is not None and self.completion.complete
            )
        return self.completion.complete

    def _lines(self, eventlog: str, lines: list[tuple[int, bytes]]) -> None:
        if not lines:
            return
        if eventlog == "output":
            self._output(lines)
            return
        for event in decode_events(lines, self.problems, eventlog):
            if eventlog == "main":
                self._main(event)
            else:
                self.info.feed_exec(event)

    def _main(self, event: Event) -> None:
        self.info.feed_main(event)
        if self.zero is None:
            self.zero = event.timestamp
        if event.name == "exception" and event.context.get("severity") == 0:
            self.out.exception(format_exception(event, self.source.name, self.zero))

    def _output(self, lines: list[tuple[int, bytes]]) -> None:
        out = self.out
        streams = self.req.streams
        all_streams = len(streams) == 2
        select = self.select
        mode = self.mode
        for rec in self.decoder.decode(lines):
            if type(rec) is Data:
                if not all_streams and rec.stream not in streams:
                    if rec.eof:
                        self.completion.end(rec.stream, rec.ranks)
                    continue
                ranks = select(rec.rank, rec.ranks)
                if rec.eof:
                    self.completion.end(rec.stream, rec.ranks)
                if not ranks:
                    continue
                if rec.data:
                    if mode == "raw":
                        out.raw(rec.stream, rec.data)
                    elif mode == "lines":
                        out.lines(
                            self.assembler.feed(
                                rec.timestamp, rec.stream, ranks, rec.data
                            ),
                            self.zero,
                        )
                    else:
                        rank = rec.rank if ranks is rec.ranks else ranks.format()
                        out.event(rec.stream, rank, rec.data)
                if rec.eof and mode == "lines":
                    for r in ranks:
                        line = self.assembler.end(rec.stream, r)
                        if line is not None:
                            out.lines((line,), self.zero)
            elif type(rec) is not Data:
                self._other(rec)

    def _other(self, rec: OutputRecord) -> None:
        if isinstance(rec, Header):
            self.completion.header(rec)
            if self.zero is None:
                self.zero = rec.timestamp
        elif isinstance(rec, Redirect):
            self.completion.end(rec.stream, rec.ranks)
            if rec.stream in self.req.streams and self.select(rec.rank, rec.ranks):
                self.out.redirect(rec)
        elif isinstance(rec, Log) and rec.level <= self.req.log_level:
            self.out.log(rec, self.zero if self.zero is not None else rec.timestamp)

    def _status(self) -> int:
        status = 0
        if self.req.follow and self.has_main:
            status, message = self.info.exit_status()
            if message:
                self.out.error(f"{self.source.name}: {message}")
        if self.problems.errors and status == 0:
            status = ExitStatus.ERROR
        return status


def show_output(source: Source, req: Request, out: TextRenderer) -> int:
    """cat and follow: the job's output; returns the job's exit status."""
    return _Output(source, req, out).run()


# -- events -----------------------------------------------------------------


def _event_ranks(event: Event) -> tuple[str | None, IdSet | None]:
    from fluxout.eventlog import event_ranks

    rank = event.context.get("rank")
    if isinstance(rank, bool):
        return None, None
    if isinstance(rank, int) and rank >= 0:
        return str(rank), IdSet(((rank, rank),))
    if isinstance(rank, str):
        try:
            return rank, event_ranks(rank)
        except ValueError:
            return None, None
    return None, None


def _wanted_event(
    event: Event, eventlog: str, req: Request, select: _Selection
) -> bool:
    if eventlog != "output":
        return True
    stream = event.context.get("stream")
    if isinstance(stream, str) and stream not in req.streams:
        return False
    if req.tasks is None:
        return True
    rank, ranks = _event_ranks(event)
    if rank is None or ranks is None:
        return True
    return bool(select(rank, ranks))


class _EventsEnd:
    """When following events: is the job over (clean, or all output ended)?"""

    def __init__(self, has_main: bool) -> None:
        self.has_main = has_main
        self.clean = False
        self.completion = _Completion()

    def see(self, eventlog: str, event: Event) -> None:
        if eventlog == "main":
            self.clean = self.clean or event.name == "clean"
            return
        if eventlog != "output":
            return
        ctx = event.context
        if event.name == "header":
            count = ctx.get("count")
            self.completion.header(
                Header(
                    event.timestamp, 1, {}, count if isinstance(count, dict) else {}, {}
                )
            )
        elif event.name == "redirect" or (
            event.name == "data" and ctx.get("eof") is True
        ):
            _, ranks = _event_ranks(event)
            if ranks is not None and ctx.get("stream") in ALL_STREAMS:
                self.completion.end(str(ctx["stream"]), ranks)

    @property
    def over(self) -> bool:
        return self.clean if self.has_main else self.completion.complete


def _decoded(
    source: Source, req: Request, wanted: frozenset[str], warn: _Problems
) -> Iterator[tuple[str, Event]]:
    splitters = {name: LineSplitter() for name in wanted}
    end = _EventsEnd("main" in wanted and "main" in source.eventlogs)
    chunks = source.chunks(req.follow, wanted)
    for eventlog, chunk in chunks:
        if eventlog == IDLE:
            if end.over:
                break
            continue
        for event in decode_events(splitters[eventlog].feed(chunk), warn, eventlog):
            end.see(eventlog, event)
            yield eventlog, event
    for eventlog, splitter in splitters.items():
        for event in decode_events(splitter.end(), warn, eventlog):
            yield eventlog, event


def show_events(source: Source, req: Request, out: EventsRenderer) -> int:
    """events: every eventlog entry, merged by time unless following."""
    problems = _Problems(source.name, out.warning)
    select = _Selection(req.tasks)
    wanted = req.eventlogs & source.eventlogs if source.eventlogs else req.eventlogs
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
    zero: float | None = None
    for eventlog, event in stream:
        if zero is None:
            zero = event.timestamp
        if _wanted_event(event, eventlog, req, select):
            out.entry(eventlog, event, zero)
    return ExitStatus.ERROR if problems.errors else ExitStatus.SUCCESS


# -- lines ------------------------------------------------------------------


def show_lines(source: Source, req: Request, out: LinesRenderer) -> int:
    """lines: one record per assembled line, with rank, stream and time."""
    return _Output(source, req, out, mode="lines").run()


# -- the whole request --------------------------------------------------------


def run(req: Request, terminal: Terminal | None = None) -> int:
    """Show every job of the request in turn; the worst exit status wins.

    An error about one job is reported and the next job is still shown.
    """
    from fluxout.sources.target import open_target

    term = terminal if terminal is not None else Terminal.from_process()
    color_out, color_err = term.color(req.color)
    # On a terminal, and when following, each batch is flushed at once.
    flush = req.follow or term.stdout_tty
    worst = 0
    for job in req.jobs:
        out: TextRenderer
        if req.command == "events":
            out = EventsRenderer(term, color_out, color_err, flush, job, req.json)
        elif req.command == "lines":
            out = LinesRenderer(term, color_out, color_err, flush, job, req.json)
        else:
            out = TextRenderer(term, color_out, color_err, flush)
        try:
            source = open_target(job, req.uri)
            if isinstance(out, EventsRenderer):
                status = show_events(source, req, out)
            elif isinstance(out, LinesRenderer):
                status = show_lines(source, req, out)
            else:
                status = show_output(source, req, out)
        except FluxoutError as exc:
            if req.debug:
                raise
            out.error(str(exc))
            status = ExitStatus.ERROR
        finally:
            out.close()
        worst = max(worst, status)
    return worst
