"""The core: source -> records -> renderer, for one or many jobs.

Nothing here knows Click, rich or flux: the CLI builds a ``Request``, the
sources give eventlog bytes, the renderers write. ``run`` returns the exit
status; an error about one job is reported and the other jobs still shown.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fluxout.errors import FluxoutError, OutputWriteError
from fluxout.events import show_events
from fluxout.exit import ExitStatus
from fluxout.filters import LineFilter, TimeBound, window_conflict
from fluxout.idset import IdSet
from fluxout.job import (
    ALL_STREAMS,
    AttachOptions,
    JobOutput,
    OutputOptions,
    Renderer,
)
from fluxout.plan import Plan
from fluxout.render.output import LineFormat, Output, TextRenderer
from fluxout.render.records import EventsRenderer, LinesRenderer
from fluxout.render.sink import Sink
from fluxout.render.terminal import Terminal
from fluxout.sources.base import IDLE, QUEUE, Notice, Source

if TYPE_CHECKING:
    from fluxout.sources.flux.loop import Instance

__all__ = ["ALL_STREAMS", "Request", "run"]


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
    follow: bool = False  # follow, cat --wait, events -f, lines -f
    eventlogs: frozenset[str] = field(default_factory=lambda: frozenset(("main", "exec", "output")))
    debug: bool = False
    timestamps: str | None = None  # abs, rel, delta
    head: int | None = None
    tail: int | None = None
    since: TimeBound | None = None
    until: TimeBound | None = None
    include: list[re.Pattern[bytes]] = field(default_factory=list)
    exclude: list[re.Pattern[bytes]] = field(default_factory=list)
    highlight: list[re.Pattern[bytes]] = field(default_factory=list)
    split: Path | None = None
    force: bool = False  # --split: replace files in an existing job directory
    coalesce: bool = False
    template: str | None = None  # lines --format
    # As flux job attach's options (follow, cat): -E, -X, -w, -v, -q, --show-status.
    show_events: bool = False
    show_exec: bool = False
    wait_event: str = "clean"
    verbose: bool = False
    quiet: bool = False
    show_status: bool = False

    def filters(self) -> LineFilter:
        return LineFilter(
            include=list(self.include),
            exclude=list(self.exclude),
            since=self.since,
            until=self.until,
            head=self.head,
            tail=self.tail,
        )


def job_short_name(arg: str) -> str:
    """How a job is named in a prefix: its id as given, or a path's last part."""
    from fluxout.sources.target import is_path_argument

    if arg == "-" or not is_path_argument(arg):
        return arg
    return Path(arg.rstrip("/")).name or arg


def job_label(source: Source, arg: str) -> str:
    """How messages about a job's life name it: a live job by its jobid; a
    saved one by the jobid its files give, else by its short name (never
    the whole path, which says nothing more)."""
    from fluxout.sources.file import PathSource, StdinSource

    if isinstance(source, (PathSource, StdinSource)):
        return source.jobid or job_short_name(arg)
    return source.name


def _saved_files(source: Source) -> dict[str, str] | None:
    """A saved job's files by eventlog (follow names them while it waits
    for them to grow); None for a live job or a pipe."""
    from fluxout.sources.file import PathSource

    if not isinstance(source, PathSource):
        return None
    return {eventlog: str(path) for eventlog, path in source.files.items()}


def split_job_name(arg: str) -> str:
    """The job's directory under --split DIR: always one safe path component."""
    from fluxout.render.split import safe_component

    if arg == "-":
        return "stdin"
    name = job_short_name(arg)
    if not safe_component(name):
        # ".", "..", "a/..": name it by the directory it really is.
        name = Path(arg).resolve().name
    return name if safe_component(name) else "job"


def _renderer(
    req: Request, plan: Plan, output: Output, job: str, index: int, several: bool
) -> TextRenderer:
    from fluxout.render.styles import JOB_PALETTE

    if plan.renderer == "events":
        return EventsRenderer(output, job, req.json)
    if plan.renderer == "records":
        return LinesRenderer(output, job, req.json, req.template, req.timestamps)
    if plan.renderer == "split":
        from fluxout.render.split import SplitRenderer

        assert req.split is not None
        return SplitRenderer(
            output, req.split, split_job_name(job), req.force, req.tasks, req.streams
        )
    fmt = LineFormat(
        label=req.label,
        timestamps=req.timestamps,
        prefix=f"{job_short_name(job)}: " if several else "",
        pad=output.terminal.stdout_tty and output.color[0],
        highlight=list(req.highlight) if plan.highlight else [],
    )
    style = JOB_PALETTE[index % len(JOB_PALETTE)]
    if plan.renderer == "coalesce":
        from fluxout.render.coalesce import CoalesceRenderer

        # On a terminal that shows both streams, a block says which it is of.
        term = output.terminal
        both = req.streams == ALL_STREAMS and term.stdout_tty and term.stderr_tty
        return CoalesceRenderer(output, fmt, style, req.follow, name_streams=both, job=job)
    return TextRenderer(output, fmt, style)


# attach shows its status line this long after it started, on a terminal.
STATUS_AFTER = 2.0


def _status_after(req: Request, terminal: Terminal) -> float | None:
    """When a pending job's status line shows, as attach decides it: at once
    with --show-status; else after STATUS_AFTER seconds when fluxout writes
    to a terminal, unless -E shows the events or FLUX_ATTACH_NONINTERACTIVE
    is set (attach's own switch); else never."""
    if req.show_status:
        return 0.0
    if req.show_events or terminal.env.get("FLUX_ATTACH_NONINTERACTIVE"):
        return None
    return STATUS_AFTER if terminal.stdout_tty and terminal.stderr_tty else None


class _Job:
    """One JOB argument: its source, pipeline and renderer."""

    def __init__(
        self,
        req: Request,
        plan: Plan,
        arg: str,
        out: TextRenderer,
        index: int = 0,
        instance: Instance | None = None,
    ) -> None:
        from fluxout.sources.target import open_target

        self.arg = arg
        self.out = out
        self.index = index  # among the jobs of the request
        self.over = False  # follow: set by the writer when the job is over
        self.source: Source = open_target(arg, req.uri, instance)
        opts = OutputOptions(
            tasks=req.tasks,
            streams=req.streams,
            mode=plan.data,
            lane=plan.lane,
            log_level=req.log_level,
            follow=req.follow,
            summary=req.follow and req.command != "lines",
            filters=req.filters(),
            attach=AttachOptions(
                show_events=req.show_events,
                show_exec=req.show_exec,
                wait_event=req.wait_event,
                verbose=req.verbose,
                quiet=req.quiet,
                status_after=_status_after(req, out.terminal),
            ),
            origin="submit" if req.command == "lines" else "start",
        )
        eventlogs = self.source.eventlogs
        self.pipeline = JobOutput(
            self.source.name,
            "main" in eventlogs,
            opts,
            out,
            has_exec="exec" in eventlogs,
            label=job_label(self.source, arg),
            saved=_saved_files(self.source),
        )

    # What follow_together (fluxout.sources.flux.loop) asks of a job.

    @property
    def wanted(self) -> frozenset[str]:
        return _wanted(self)

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        self.pipeline.feed(eventlog, chunk)

    def idle(self) -> bool:
        return self.pipeline.idle()


def _job_failed(
    exc: Exception, arg: str, out: TextRenderer, debug: bool, pipeline: JobOutput | None = None
) -> int:
    """One job's error, reported as its one line; the other jobs are still
    shown. A bug is that job's "internal error". Re-raises what is the
    run's, not the job's (fluxout's output failing, a closed pipe), and
    everything with --debug. Returns the job's status."""
    if debug or isinstance(exc, (OutputWriteError, OSError)):
        raise exc
    if pipeline is not None:
        pipeline.finish(complete=False)
    if not isinstance(exc, FluxoutError):
        why = f"internal error: {type(exc).__name__}: {exc} (--debug shows where)"
        exc = FluxoutError(arg, why)
    out.error(str(exc))
    if exc.hint:
        out.error(exc.hint)
    return ExitStatus.ERROR


def _wanted(job: _Job) -> frozenset[str]:
    """What a job's reader asks its source for: the eventlogs, and the
    queue's state while a pending job's status line may show."""
    wanted = frozenset(("main", "exec", "output"))
    return wanted | {QUEUE} if job.pipeline.pending is not None else wanted


def _read_one(job: _Job, follow: bool) -> int:
    chunks = job.source.chunks(follow, _wanted(job))
    try:
        for eventlog, chunk in chunks:
            if eventlog == IDLE:
                if job.pipeline.idle():
                    break
                continue
            job.pipeline.feed(eventlog, chunk)
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()
    return job.pipeline.finish()


_DONE = "done"
# How long readers get to end once every job is decided (see _stop_readers).
STOP_READERS_SECONDS = 2.0


def _pump(index: int, job: _Job, q: queue.Queue[tuple[int, str, object]]) -> None:
    """A reader thread: put one job's chunks on the shared queue."""
    try:
        for eventlog, chunk in job.source.chunks(True, _wanted(job)):
            q.put((index, eventlog, chunk))
            if eventlog == IDLE:
                # Wait for the main thread's verdict on the job being over.
                q.join()
                if job.over:
                    break
    except BaseException as exc:  # handed to the main thread, which reports it
        q.put((index, _DONE, exc))
        return
    q.put((index, _DONE, None))


def _follow_many(jobs: list[_Job], debug: bool) -> list[int]:
    """follow several jobs at once, with one writer (this thread): the jobs
    of the instance push-driven on its one reactor, in this thread
    (fluxout.sources.flux.loop); saved jobs, a reader thread each."""
    from fluxout.sources.flux.loop import MORE, OVER, View, follow_together

    statuses: dict[int, int | None] = {job.index: None for job in jobs}
    live = [job for job in jobs if isinstance(getattr(job.source, "boundary", None), View)]
    saved = [job for job in jobs if job not in live]
    q: queue.Queue[tuple[int, str, object]] = queue.Queue()
    readers = [
        threading.Thread(target=_pump, args=(job.index, job, q), daemon=True) for job in saved
    ]
    for reader in readers:
        reader.start()
    by_index = {job.index: job for job in saved}
    between = (lambda: _drain(by_index, q, statuses, debug)) if saved else None
    try:
        for job, end in follow_together(live, between=between):
            if end == MORE:
                continue
            if end == OVER:
                try:
                    statuses[job.index] = job.pipeline.finish()
                except Exception as exc:
                    statuses[job.index] = _job_failed(exc, job.arg, job.out, debug, job.pipeline)
            else:
                assert isinstance(end, Exception)
                statuses[job.index] = _job_failed(end, job.arg, job.out, debug, job.pipeline)
        if saved:
            _follow_loop(by_index, q, statuses, debug)
    finally:
        if saved:
            _stop_readers(saved, readers, q)
    return [s if s is not None else ExitStatus.ERROR for s in statuses.values()]


def _stop_readers(
    jobs: list[_Job], readers: list[threading.Thread], q: queue.Queue[tuple[int, str, object]]
) -> None:
    """Let every reader end, and so close its files: a reader of a job that
    failed waits at its next idle for a verdict (over) that nobody would
    take from the queue. A reader stuck in a read is left after a while."""
    for job in jobs:
        job.over = True
    deadline = time.monotonic() + STOP_READERS_SECONDS
    while any(r.is_alive() for r in readers) and time.monotonic() < deadline:
        try:
            q.get(timeout=0.05)
        except queue.Empty:
            continue
        q.task_done()


def _follow_loop(
    jobs: dict[int, _Job],
    q: queue.Queue[tuple[int, str, object]],
    statuses: dict[int, int | None],
    debug: bool,
) -> None:
    """The items of the saved jobs' readers, until each of them is decided."""
    while any(statuses[i] is None for i in jobs):
        _handle(jobs, q.get(), statuses, debug)
        q.task_done()


def _drain(
    jobs: dict[int, _Job],
    q: queue.Queue[tuple[int, str, object]],
    statuses: dict[int, int | None],
    debug: bool,
) -> bool:
    """What the saved jobs' readers have put on the queue so far; whether
    some of them are still undecided."""
    while True:
        try:
            item = q.get_nowait()
        except queue.Empty:
            break
        try:
            _handle(jobs, item, statuses, debug)
        finally:
            q.task_done()
    return any(statuses[i] is None for i in jobs)


def _handle(
    jobs: dict[int, _Job],
    item: tuple[int, str, object],
    statuses: dict[int, int | None],
    debug: bool,
) -> None:
    i, eventlog, payload = item
    job = jobs[i]
    try:
        if statuses[i] is not None:
            job.over = True  # failed already: its reader stops at its next idle
        elif eventlog == _DONE:
            if isinstance(payload, BaseException):
                raise payload
            statuses[i] = job.pipeline.finish()
        elif eventlog == IDLE:
            job.over = job.pipeline.idle()
        else:
            assert isinstance(payload, (bytes, Notice))
            job.pipeline.feed(eventlog, payload)
    except Exception as exc:
        statuses[i] = _job_failed(exc, job.arg, job.out, debug, job.pipeline)
        job.over = True  # its reader stops at its next idle


def run(req: Request, terminal: Terminal | None = None) -> int:
    """Show every job of the request; the worst exit status wins."""
    term = terminal if terminal is not None else Terminal.from_process()
    # Colour, escaping and flushing are decided once, for every job's renderer.
    output = Output(
        term,
        Sink(term.stdout, term.stderr, term.shared),
        term.color(req.color),
        flush_each_batch=req.follow or term.stdout_tty,
        escape=term.escapes(),
    )
    several = len(req.jobs) > 1
    plan = Plan.of(req, several, output.color)
    renderers = [_renderer(req, plan, output, arg, i, several) for i, arg in enumerate(req.jobs)]
    conflict = window_conflict(req.since, req.until)
    if conflict is not None:
        # Known before any job is read: said once, not once per job.
        renderers[0].warning(f"warning: {conflict}")
    try:
        if plan.command == "events":
            return _run_events(req, renderers)
        return _run_output(req, plan, renderers, several)
    finally:
        for out in renderers:
            out.close()


def _run_output(req: Request, plan: Plan, renderers: list[TextRenderer], several: bool) -> int:
    from fluxout.sources.flux.loop import Instance

    worst: int = ExitStatus.SUCCESS
    jobs: list[_Job] = []
    # The jobids of the request share one connection (one handle, one reactor).
    instance = Instance(uri=req.uri)
    ahead = _jobids(req.jobs) if several and not req.follow else []
    sent = 1  # cat of many jobs: the next ones' reads are sent ahead (from the
    # second: the first makes the connection), PREFETCH jobs at most
    for index, (arg, out) in enumerate(zip(req.jobs, renderers, strict=True)):
        if ahead and index >= sent:
            end = index + PREFETCH
            instance.prefetch([j for i, j in ahead if sent <= i < end])
            sent = end
        try:
            job = _Job(req, plan, arg, out, index, instance)
        except Exception as exc:
            worst = max(worst, _job_failed(exc, arg, out, req.debug))
            continue
        if req.follow and several:
            jobs.append(job)
            continue
        try:
            worst = max(worst, _read_one(job, req.follow))
        except Exception as exc:
            worst = max(worst, _job_failed(exc, arg, out, req.debug, job.pipeline))
    if jobs:
        worst = max([worst, *_follow_many(jobs, req.debug)])
    return worst


# cat of many jobs: the reads of this many jobs are sent ahead at a time.
PREFETCH = 32


def _jobids(args: list[str]) -> list[tuple[int, int]]:
    """(index, jobid) of the arguments that are jobids."""
    from fluxout.jobid import parse_jobid
    from fluxout.sources.target import is_path_argument

    found = []
    for i, arg in enumerate(args):
        if not is_path_argument(arg):
            try:
                found.append((i, parse_jobid(arg)))
            except ValueError:
                continue
    return found


def _run_events(req: Request, renderers: list[TextRenderer]) -> int:
    from fluxout.sources.target import open_target

    worst: int = ExitStatus.SUCCESS
    for arg, out in zip(req.jobs, renderers, strict=True):
        assert isinstance(out, EventsRenderer)
        try:
            source = open_target(arg, req.uri)
            worst = max(worst, show_events(source, req, out, job_label(source, arg)))
        except Exception as exc:
            worst = max(worst, _job_failed(exc, arg, out, req.debug))
    return worst


# Keep the type checker aware that renderers satisfy the pipeline's protocol.
_check: type[Renderer] = TextRenderer
