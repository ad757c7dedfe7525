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
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

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
from fluxout.names import JobName, job_names
from fluxout.plan import Plan
from fluxout.render.output import LineFormat, Output, TextRenderer
from fluxout.render.progress import NoProgress, ProgressBar
from fluxout.render.records import EventsRenderer, LinesRenderer, names_host
from fluxout.render.sink import Sink
from fluxout.render.terminal import Terminal
from fluxout.selection import Selection
from fluxout.sources.base import IDLE, QUEUE, RESOURCES, Notice, Source
from fluxout.tally import Tally

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
    # Where tasks ran (fluxout.hosts): labels by "rank", "host" or
    # "host-rank" (None: not asked, as rank), and --hosts, the hosts whose
    # tasks are shown (None: all).
    label_by: str | None = None
    hosts: tuple[str, ...] | None = None
    # As flux job attach's options (follow, cat): -E, -X, -w, -v, -q, --show-status.
    show_events: bool = False
    show_exec: bool = False
    wait_event: str = "clean"
    verbose: bool = False
    quiet: bool = False
    show_status: bool = False
    # cat, follow, lines: read the files a job's output was redirected to.
    redirected: bool = True
    # Many jobs: a selection (fluxout.selection) and the end summary
    # (auto, always, never, json).
    select: Selection | None = None
    summary: str = "auto"
    # As flux watch's: a bar of the jobs done on stderr's terminal, with
    # their rate (jobs/s) instead of the elapsed time.
    progress: bool = False
    jps: bool = False
    stall: float | None = None  # follow --stall: seconds a task may be quiet

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
    req: Request, plan: Plan, output: Output, job: str, index: int, several: bool, name: JobName
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
            output,
            req.split,
            name.directory,
            req.force,
            req.tasks,
            req.streams,
            label_by=req.label_by or "rank",
            on_hosts=req.hosts,
        )
    fmt = LineFormat(
        label=req.label,
        timestamps=req.timestamps,
        prefix=f"{name.prefix}: " if several else "",
        pad=output.terminal.stdout_tty and output.color[0],
        highlight=list(req.highlight) if plan.highlight else [],
        label_by=req.label_by or "rank",
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
        stdin: BinaryIO | None = None,
    ) -> None:
        from fluxout.sources.target import open_target

        self.arg = arg
        self.name = arg  # as -v and the end summary name it
        self.out = out
        self.index = index  # among the jobs of the request
        self.over = False  # follow: set by the writer when the job is over
        self.source: Source = open_target(arg, req.uri, stdin, instance)
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
            redirected=req.redirected,
            label_by=req.label_by or ("host" if names_host(req.template) else "rank"),
            on_hosts=req.hosts,
            hosts_option=_hosts_option(req),
            no_r=_no_r(self.source),
        )
        self.stall = None
        if req.stall is not None:
            from fluxout.stall import StallTracker

            label = job_label(self.source, arg)
            self.stall = StallTracker(label, req.stall, req.tasks, out.warning)
        self._stall_shown = False
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

    def idle(self) -> bool:
        return self.pipeline.idle()

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        """A chunk to the pipeline; with --stall, to the tracker first (its
        warnings come before the output that shows them), and its status
        line, on a terminal, drawn again after the output."""
        stall = self.stall
        if stall is None:
            self.pipeline.feed(eventlog, chunk)
            return
        if self._stall_shown:
            self.out.status("")
            self._stall_shown = False
        stall.feed(eventlog, chunk)
        self.pipeline.feed(eventlog, chunk)
        text = stall.status()
        if text and self.out.terminal.stderr_tty:
            self.out.status(text)
            self._stall_shown = True


def _hosts_option(req: Request) -> str:
    """The option that needs to know where the tasks ran, as the error names it."""
    if req.label_by not in (None, "rank"):
        return f"--label-by {req.label_by}"
    if names_host(req.template):
        return "--format {host}"
    return "--hosts"


def _no_r(source: Source) -> str:
    """What the job's hosts would be read from, when its R is missing."""
    from fluxout.sources.file import PathSource, StdinSource

    what = "the job's resource set R"
    save = "flux job info JOBID R > DIR/R saves it"
    if isinstance(source, PathSource) and source.path.is_dir():
        return f"{what}: there is no {source.path / 'R'} beside its eventlogs ({save})"
    if isinstance(source, (PathSource, StdinSource)):
        lone = "which a lone eventlog does not hold: read the job's directory, with R in it"
        return f"{what}, {lone} ({save})"
    return f"{what}, which the job does not have (it was never allocated)"


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
    if job.pipeline.opts.hosts_wanted:
        wanted |= {RESOURCES}
    return wanted | {QUEUE} if job.pipeline.pending is not None else wanted


def _read_one(job: _Job, follow: bool, progress: Progress) -> int:
    chunks = job.source.chunks(follow, _wanted(job))
    try:
        for eventlog, chunk in chunks:
            if eventlog == IDLE:
                if job.pipeline.idle():
                    break
                progress.redraw()  # the bar's clock moves while the job waits
                continue
            job.feed(eventlog, chunk)
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


def _follow_many(
    jobs: list[_Job],
    debug: bool,
    tally: Tally,
    add: Callable[[], list[_Job]] | None = None,
) -> list[int]:
    """follow several jobs at once, with one writer (this thread): the jobs
    of the instance push-driven on its one reactor, in this thread
    (fluxout.sources.flux.loop); saved jobs, a reader thread each. With
    ``add`` (follow --new), the jobs it gives are followed too (a reader
    each), until Ctrl-C."""
    from fluxout.sources.flux.loop import MORE, OVER, View, follow_together

    statuses: dict[int, int | None] = {job.index: None for job in jobs}
    live = [job for job in jobs if isinstance(getattr(job.source, "boundary", None), View)]
    q: queue.Queue[tuple[int, str, object]] = queue.Queue()
    readers: list[threading.Thread] = []
    by_index: dict[int, _Job] = {}

    def start(job: _Job) -> None:
        by_index[job.index] = job
        statuses.setdefault(job.index, None)
        reader = threading.Thread(target=_pump, args=(job.index, job, q), daemon=True)
        readers.append(reader)
        reader.start()

    for job in jobs:
        if job not in live:
            start(job)
    asked = time.monotonic()

    def grow() -> None:
        nonlocal asked
        if add is None or time.monotonic() - asked < NEW_JOBS_SECONDS:
            return
        asked = time.monotonic()
        for job in add():
            start(job)

    def between() -> bool:
        grow()
        return _drain(by_index, q, statuses, debug, tally) or add is not None

    try:
        together = follow_together(live, between=between if by_index or add else None)
        for job, end in together:
            if end == MORE:
                continue
            info = job.pipeline.info
            if end == OVER:
                try:
                    statuses[job.index] = status = job.pipeline.finish()
                    tally.end(job.name, info, status)
                    continue
                except Exception as exc:
                    end = exc
            assert isinstance(end, Exception)
            statuses[job.index] = status = _job_failed(end, job.arg, job.out, debug, job.pipeline)
            tally.end(job.name, info, status, failed=True)
        if by_index or add is not None:
            _follow_loop(by_index, q, statuses, debug, tally, grow if add is not None else None)
    finally:
        if readers:
            _stop_readers(list(by_index.values()), readers, q)
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
    tally: Tally,
    grow: Callable[[], None] | None = None,
) -> None:
    """The items of the saved jobs' readers, until each of them is decided
    (follow --new: until Ctrl-C, asking ``grow`` for more jobs)."""
    while grow is not None or any(statuses[i] is None for i in jobs):
        if grow is not None:
            grow()
        try:
            item = q.get(timeout=NEW_JOBS_SECONDS if grow is not None else None)
        except queue.Empty:
            continue
        try:
            _handle(jobs, item, statuses, debug, tally)
        finally:
            q.task_done()


def _drain(
    jobs: dict[int, _Job],
    q: queue.Queue[tuple[int, str, object]],
    statuses: dict[int, int | None],
    debug: bool,
    tally: Tally,
) -> bool:
    """What the saved jobs' readers have put on the queue so far; whether
    some of them are still undecided."""
    while True:
        try:
            item = q.get_nowait()
        except queue.Empty:
            break
        try:
            _handle(jobs, item, statuses, debug, tally)
        finally:
            q.task_done()
    return any(statuses[i] is None for i in jobs)


def _handle(
    jobs: dict[int, _Job],
    item: tuple[int, str, object],
    statuses: dict[int, int | None],
    debug: bool,
    tally: Tally,
) -> None:
    i, eventlog, payload = item
    job = jobs[i]
    try:
        if statuses[i] is not None:
            job.over = True  # failed already: its reader stops at its next idle
        elif eventlog == _DONE:
            if isinstance(payload, BaseException):
                raise payload
            statuses[i] = status = job.pipeline.finish()
            tally.end(job.name, job.pipeline.info, status)
        elif eventlog == IDLE:
            job.over = job.pipeline.idle()
            tally.progress.redraw()  # the bar's clock moves while jobs wait
        else:
            assert isinstance(payload, (bytes, Notice))
            job.feed(eventlog, payload)
    except Exception as exc:
        statuses[i] = status = _job_failed(exc, job.arg, job.out, debug, job.pipeline)
        tally.end(job.name, job.pipeline.info, status, failed=True)
        job.over = True  # its reader stops at its next idle


def run(req: Request, terminal: Terminal | None = None) -> int:
    """Show every job of the request; the worst exit status wins."""
    term = terminal if terminal is not None else Terminal.from_process()
    # Colour, escaping and flushing are decided once, for every job's renderer.
    output = Output(
        term,
        Sink(term.stdout, term.stderr, term.shared, term.stdout_tty and term.stderr_tty),
        term.color(req.color),
        flush_each_batch=req.follow or term.stdout_tty,
        escape=term.escapes(),
    )
    selected = req.select is not None and req.select.given
    seen: set[int] = set()
    start = 0.0
    if selected:
        from fluxout.many import expand

        req.jobs, seen, start = expand(req.jobs, req.select, req.uri)
    new = selected and req.follow and req.select is not None and req.select.new
    messages = TextRenderer(output)
    if not req.jobs and not new:
        messages.warning("no matching jobs")  # as flux watch, which exits 0 too
        return ExitStatus.SUCCESS
    several = len(req.jobs) > 1 or new
    plan = Plan.of(req, several, output.color)
    names = job_names(req.jobs)
    renderers = [
        _renderer(req, plan, output, arg, i, several, names[i]) for i, arg in enumerate(req.jobs)
    ]
    # -v is attach's for one job; with several, or a selection, it also
    # tells each job's start and end (stern's + and -).
    tally = Tally(messages, req.verbose and (several or selected), req.summary, several)
    progress = _progress(req, output)
    tally.progress = progress  # the bar counts what the tally counts
    conflict = window_conflict(req.since, req.until)
    if conflict is not None:
        # Known before any job is read: said once, not once per job.
        messages.warning(f"warning: {conflict}")
    more = _newcomers(req, plan, output, renderers, seen, start) if new else None
    try:
        if plan.command == "events":
            return _run_events(req, renderers, term.stdin)
        return _run_output(req, plan, renderers, several, term.stdin, tally, names, more)
    finally:
        for out in renderers:
            out.close()
        tally.finish(selected)
        progress.close()


# What the core tells the progress bar (render/progress.py), or nothing.
Progress = ProgressBar | NoProgress


def _progress(req: Request, output: Output) -> Progress:
    """--progress's bar, on stderr's terminal only: elsewhere (a pipe, a
    file, a batch job's log) it says nothing, as --color auto would not."""
    term = output.terminal
    if not req.progress or not term.stderr_tty or req.command not in ("cat", "follow"):
        return NoProgress()
    return ProgressBar(output.sink.bottom, term.columns, req.jps, output.color[1])


# follow --new asks the instance for new jobs this often.
NEW_JOBS_SECONDS = 1.0


def _newcomers(
    req: Request,
    plan: Plan,
    output: Output,
    renderers: list[TextRenderer],
    seen: set[int],
    start: float,
) -> Callable[[], list[tuple[str, TextRenderer, int]]]:
    """follow --new: the JOBs of jobs that appeared since the last call, each
    with its renderer (added to ``renderers``, so the run closes it)."""
    from fluxout.many import discover

    assert req.select is not None
    poll = discover(req.select, req.uri, seen, start)

    def more() -> list[tuple[str, TextRenderer, int]]:
        added: list[tuple[str, TextRenderer, int]] = []
        for arg in poll():
            req.jobs.append(arg)
            index = len(req.jobs) - 1
            name = job_names(req.jobs)[-1]
            out = _renderer(req, plan, output, arg, index, True, name)
            renderers.append(out)
            added.append((arg, out, index))
        return added

    return more


def _run_output(
    req: Request,
    plan: Plan,
    renderers: list[TextRenderer],
    several: bool,
    stdin: BinaryIO | None,
    tally: Tally,
    names: list[JobName],
    more: Callable[[], list[tuple[str, TextRenderer, int]]] | None = None,
) -> int:
    from fluxout.sources.flux.loop import Instance

    worst: int = ExitStatus.SUCCESS
    jobs: list[_Job] = []
    tally.progress.start(len(req.jobs))
    # The jobids of the request share one connection (one handle, one reactor).
    instance = Instance(uri=req.uri)
    ahead = dict(_jobids(req.jobs)) if several and not req.follow else {}
    sent = 1  # cat of many jobs: the next ones' reads are sent ahead (from the
    # second: the first makes the connection), PREFETCH jobs at most; the
    # window slides by one job each job, so the next is always well ahead
    for index, (arg, out, name) in enumerate(zip(req.jobs, renderers, names, strict=True)):
        if ahead and index and sent < index + PREFETCH:
            end = index + PREFETCH
            instance.prefetch([ahead[i] for i in range(sent, end) if i in ahead])
            sent = end
        tally.start(name.prefix)
        try:
            job = _Job(req, plan, arg, out, index, instance, stdin)
        except Exception as exc:
            status = _job_failed(exc, arg, out, req.debug)
            tally.end(name.prefix, None, status)
            worst = max(worst, status)
            continue
        job.name = name.prefix
        if req.follow and several:
            jobs.append(job)
            continue
        try:
            status = _read_one(job, req.follow, tally.progress)
            tally.end(name.prefix, job.pipeline.info, status)
        except Exception as exc:
            status = _job_failed(exc, arg, out, req.debug, job.pipeline)
            tally.end(name.prefix, job.pipeline.info, status, failed=True)
        worst = max(worst, status)
    if jobs or more is not None:
        adder = _adder(req, plan, tally, more) if more is not None else None
        worst = max([worst, *_follow_many(jobs, req.debug, tally, adder)])
    return worst


def _adder(
    req: Request,
    plan: Plan,
    tally: Tally,
    more: Callable[[], list[tuple[str, TextRenderer, int]]],
) -> Callable[[], list[_Job]]:
    """follow --new: the new jobs, opened (one that cannot be is told and counted)."""

    def add() -> list[_Job]:
        opened: list[_Job] = []
        for arg, out, index in more():
            tally.start(arg)
            try:
                job = _Job(req, plan, arg, out, index)
            except Exception as exc:
                tally.end(arg, None, _job_failed(exc, arg, out, req.debug))
                continue
            job.name = arg
            opened.append(job)
        return opened

    return add


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


def _run_events(req: Request, renderers: list[TextRenderer], stdin: BinaryIO | None) -> int:
    from fluxout.sources.target import open_target

    worst: int = ExitStatus.SUCCESS
    for arg, out in zip(req.jobs, renderers, strict=True):
        assert isinstance(out, EventsRenderer)
        try:
            source = open_target(arg, req.uri, stdin)
            worst = max(worst, show_events(source, req, out, job_label(source, arg)))
        except Exception as exc:
            worst = max(worst, _job_failed(exc, arg, out, req.debug))
    return worst


# Keep the type checker aware that renderers satisfy the pipeline's protocol.
_check: type[Renderer] = TextRenderer
