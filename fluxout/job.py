"""One job's eventlogs -> records -> lines -> a renderer (cat, follow, lines).

``JobOutput`` is fed raw eventlog chunks as a source delivers them, so the
core can follow several jobs at once; it never reads or prints by itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn, Protocol

import orjson

from fluxout.errors import FluxoutError
from fluxout.eventlog import (
    Data,
    Event,
    FirstEntry,
    Header,
    LineSplitter,
    Log,
    OutputDecoder,
    OutputRecord,
    Problem,
    Redirect,
    decode_events,
)
from fluxout.exit import ExitStatus
from fluxout.filters import LineFilter, window_misses
from fluxout.hostlist import compress
from fluxout.hosts import HostMap, HostsError
from fluxout.idset import IdSet
from fluxout.jobstate import JobState
from fluxout.lane import BYTES, FastLane, Route
from fluxout.lines import Line, LineAssembler
from fluxout.nested import parse_jobid_path
from fluxout.sources.base import QUEUE, RESOURCES, Notice
from fluxout.sources.redirected import Redirected
from fluxout.status import (
    PendingStatus,
    exec_log_head,
    format_event,
    format_exception,
)
from fluxout.summary import failure_summary

ALL_STREAMS = frozenset(("stdout", "stderr"))

# How far one data event may expand when it is written per task (labelled
# lines, --split, lines): its tasks times its bytes.  A real job's event
# comes nowhere near; a crafted one past it is reported and skipped.
MAX_EXPANSION = 256 << 20
# Line assembly works on this much of an event at a time (tasks x bytes),
# so that memory stays bounded whatever an event expands to.
SLICE = 1 << 20
# Events of more tasks than this take the careful path, not the fast
# lane, which would keep a label per task for each rank string.
LANE_RANKS = 256


class Renderer(Protocol):
    """What JobOutput needs of a renderer (render/ has the implementations)."""

    def raw(self, stream: str, data: bytes) -> None: ...
    def raw_many(self, fd: int, chunks: list[bytes]) -> None: ...
    def line_prefix(self, fd: int, rank: int) -> bytes: ...
    def json_job(self) -> str | None: ...
    def event(self, stream: str, rank: str, data: bytes) -> None: ...
    def lines(self, lines: list[Line], zero: float | None = None) -> None: ...
    def split(self, stream: str, ranks: IdSet, data: bytes) -> None: ...
    def end(self, stream: str, ranks: IdSet) -> None: ...
    def set_tasks(self, ntasks: int) -> None: ...
    def set_hosts(self, hosts: HostMap) -> None: ...
    def log(self, rec: Log, zero: float, verbose: bool = False) -> None: ...
    def redirect(self, rec: Redirect) -> None: ...
    def label_as(self, stream: str, rank: int, name: str) -> None: ...
    def exception(self, text: str) -> None: ...
    def job_event(self, head: str, context: str) -> None: ...
    def exec_log(self, head: str, data: str) -> None: ...
    def error(self, text: str) -> None: ...
    def warning(self, text: str) -> None: ...
    def status(self, text: str, clock: str = "") -> None: ...
    def batch_done(self) -> None: ...
    def flush(self) -> None: ...


@dataclass(frozen=True)
class AttachOptions:
    """What fluxout tells of the job's life on stderr, as flux job attach's
    options do."""

    show_events: bool = False  # -E: main eventlog events
    show_exec: bool = False  # -X: exec eventlog events
    wait_event: str = "clean"  # -w: the main eventlog is read up to this event
    verbose: bool = False  # -v: file:line on shell log lines
    quiet: bool = False  # -q: no redirect notices, shell log lines, exec log heads
    # The pending status line: shown this many seconds after following
    # began (None: never; the core decides, from the terminal and options).
    status_after: float | None = None


@dataclass
class OutputOptions:
    """The parts of a request that shape one job's output."""

    tasks: IdSet | None = None
    streams: frozenset[str] = ALL_STREAMS
    # raw, event (attach -l -u), lines, split, blocks (each task's bytes): Plan.data
    mode: str = "raw"
    # The fast lane: raw, labelled, json, blocks, records (the library: Line
    # records, through the line filters) or None: Plan.lane.
    lane: str | None = "raw"
    log_level: int = 7
    follow: bool = False
    summary: bool = False
    filters: LineFilter = field(default_factory=LineFilter)
    attach: AttachOptions = field(default_factory=AttachOptions)
    # What line times count from: the job's "start" (--timestamps=rel), or
    # its "submit" (lines, as events: the first event read without a main
    # eventlog).
    origin: str = "start"
    # Read the files a redirect event names, where they can be read, as
    # the stream's data (cat, follow, lines; --no-redirected: only say so).
    redirected: bool = False
    # Where each task ran (fluxout.hosts): lines labelled by "rank", "host"
    # or "host-rank", and only the tasks on these hosts (--hosts; None: all).
    label_by: str = "rank"
    on_hosts: tuple[str, ...] | None = None
    # For the one line that says the hosts cannot be known: the option
    # that needs them, and where the job's R would be.
    hosts_option: str = "--label-by host"
    no_r: str = "the job's resource set (R) is not available"

    @property
    def hosts_wanted(self) -> bool:
        return self.label_by != "rank" or self.on_hosts is not None


class Selection:
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


def no_task_selected(tasks: IdSet | None, ntasks: object) -> str | None:
    """Why -t selects none of a job's ``ntasks`` tasks (0 to ntasks-1), or None."""
    if tasks is None or not tasks or not isinstance(ntasks, int) or ntasks <= 0:
        return None
    if tasks.first < ntasks:
        return None
    have = "0" if ntasks == 1 else f"0-{ntasks - 1}"
    return f"-t {tasks.format(brackets=False)} selects no task of the job's {ntasks} ({have})"


class Problems:
    """Counts bad input and reports each problem once, as it is found.

    A file that is not an eventlog at all would give one message per line:
    after MAX_REPORTED errors (or warnings) the rest are only counted, and
    ``summary`` gives the totals.
    """

    MAX_REPORTED = 20

    def __init__(self, job: str, report: Callable[[str], None]) -> None:
        self.job = job
        self.report = report
        self.errors = 0
        self.warnings = 0

    def __call__(self, problem: Problem) -> None:
        if problem.severity != "error":
            self.warnings += 1
            self._tell(self.warnings, f"warning: {problem}", "warnings")
        else:
            self.errors += 1
            self._tell(self.errors, str(problem), "bad lines")

    def _tell(self, count: int, text: str, kind: str) -> None:
        """The count-th problem of its kind: told, until too many were."""
        if count <= self.MAX_REPORTED:
            self.report(f"{self.job}: {text}")
        if count == self.MAX_REPORTED:
            self.report(f"{self.job}: too many {kind}: only counting the rest")

    def summary(self) -> None:
        if self.warnings > self.MAX_REPORTED:
            self.report(f"{self.job}: {self.warnings} warnings in all")
        if self.errors > self.MAX_REPORTED:
            self.report(f"{self.job}: {self.errors} bad lines in all")


def take_notice(
    notice: Notice,
    eventlog: str,
    problems: Problems,
    splitters: dict[str, LineSplitter],
    error: Callable[[str], None],
) -> bool:
    """A source's notice about one eventlog, as the job's reader takes it.

    A lost part of the job is told through ``error`` and counted (status
    1), anything else told as a warning; when the eventlog's file started
    again, its splitter does too. Returns whether the main eventlog is lost.
    """
    if notice.error:
        error(notice.message)
        problems.errors += 1  # part of the job is lost: status 1
    else:
        problems.report(notice.message)
    if notice.restart:
        # A fresh splitter: the old file's unfinished line is not glued
        # to the new file's first one, and line numbers start again.
        splitters[eventlog] = LineSplitter()
    return notice.error and eventlog == "main"


class JobOutput:
    """The cat/follow/lines pipeline of one job, fed chunk by chunk."""

    def __init__(
        self,
        name: str,
        has_main: bool,
        opts: OutputOptions,
        out: Renderer,
        *,
        has_exec: bool = True,
        label: str | None = None,
        saved: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name  # the JOB argument's source: a path, or a jobid
        # How messages about the job's life name it: its jobid when known,
        # else what the caller says (a saved job's short name).
        self._label = label if label is not None else name
        # A saved job's files by eventlog: while follow waits for them to
        # grow, the status line names the one that lacks the job's end.
        # None for a live job or a pipe.
        self.saved = saved
        self.opts = opts
        self.out = out
        self.problems = Problems(name, out.warning)
        # Life, exit status and "over": decided in one place for every command.
        self.state = JobState(has_main, opts.attach.wait_event)
        self.info = self.state.info
        self.decoder = OutputDecoder(self.problems)
        self.assembler = LineAssembler()
        self.completion = self.state.completion
        self.select = Selection(opts.tasks)
        self.filters = opts.filters
        self._filtering = opts.filters.active
        # Which fast lane this job's data events take (None: only the careful path).
        # A lane of lines may name the time before each line: "text:abs".
        lane, _, times = (opts.lane or "raw").partition(":")
        self._lane = opts.lane
        self.lane = FastLane(
            lane,
            out.raw_many,
            self.assembler,
            out.json_job() or "",
            emit=self._emit,
            tasks=out.split,
            filters=opts.filters if opts.mode == "lines" else None,
            times=times or None,
            clock=out,
        )
        self.zero: float | None = None
        self.first_time: float | None = None  # of the first event read, of any eventlog
        self.has_exec = has_exec
        self.redirects: list[Redirect] = []
        self.splitters = {name: LineSplitter() for name in ("main", "exec", "output")}
        self.firsts = {name: FirstEntry(name) for name in ("main", "exec")}
        self._history_read = False
        self.attach = opts.attach
        self.pending: PendingStatus | None = None  # the status line, while pending
        if opts.follow and opts.attach.status_after is not None:
            self.pending = PendingStatus(opts.attach.status_after)
        self._ran = False  # the exec eventlog says complete: the job ran
        self._output_seen = False  # any of the output eventlog
        self._saved_wait: str | None = None  # the status line of a saved job that waits
        # When the lines --since/--until chose from were written (first, last).
        self._window = opts.filters.since is not None or opts.filters.until is not None
        self._written: tuple[float, float] | None = None
        self._tasks_told = False  # -t selects none of the job's tasks: said
        self._fed = True  # anything fed since the last idle
        self.redirected = self._redirected() if opts.redirected else None
        # Host labels and --hosts: the job's R (from the source) and, once
        # shell.start gives the taskmap, each task's host. Until then the
        # output is held, so that no line goes out without its host.
        self._hosts_wanted = opts.hosts_wanted
        self._r: bytes | None = None
        self._r_given = False  # the source said what R it has
        self.hosts: HostMap | None = None
        self._held: list[bytes | Notice] = []

    def _redirected(self) -> Redirected:
        """The reader of the files the job's output went to. A saved job
        keeps them beside its output eventlog, in ``redirected/``."""
        output = (self.saved or {}).get("output")
        saved_dir = Path(output).parent if output is not None else None

        def fallback(rec: Redirect) -> None:
            if not self.attach.quiet:
                self.out.redirect(rec)

        def note(text: str) -> None:
            if not self.attach.quiet:
                self.out.warning(f"{self.label}: {text}")

        return Redirected(
            self.opts.tasks,
            self.opts.mode in ("lines", "split", "blocks"),
            saved_dir,
            note,
            lambda text: self.out.warning(f"{self.label}: warning: {text}"),
            fallback,
            self.out.label_as,
            lambda: self.info.finish_time,
        )

    @property
    def label(self) -> str:
        """The job as exception lines and the exit summary name it."""
        if self.saved is None and parse_jobid_path(self._label) is not None:
            return self._label  # a jobid path (ƒA/ƒB) names the job in its instance
        return self.info.jobid or self._label

    # -- feeding ----------------------------------------------------------

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        if eventlog == QUEUE:
            if self.pending is not None and isinstance(chunk, bytes):
                self.pending.queue_state(chunk)
            return
        self._fed = True
        if eventlog == RESOURCES:
            self._r = chunk if isinstance(chunk, bytes) and chunk else None
            self._r_given = True
            return
        if eventlog == "output" and self._hosts_wanted and self.hosts is None:
            self._held.append(chunk)
            # Without R, or without an exec eventlog, the hosts never come:
            # said at the first task output (follow would wait for ever).
            hopeless = (self._r_given and self._r is None) or not self.has_exec
            if hopeless and _holds_data(self._held):
                self._hosts_failed(self.opts.no_r if self._r is None else self._no_taskmap())
            return
        if self._saved_wait is not None:
            self._saved_wait = None
            self.out.status("")  # the file grew: its output goes where the status was
        if isinstance(chunk, Notice):
            self._notice(eventlog, chunk)
            self.out.batch_done()
            return
        self._feed(eventlog, chunk)

    def _feed(self, eventlog: str, chunk: bytes) -> None:
        self._output_seen = self._output_seen or (eventlog == "output" and bool(chunk))
        if eventlog == "output" and self._fast_ok():
            start, lines = self.splitters["output"].split(chunk)
            done = 0
            # Data before the header takes the careful path (it warns once).
            while self.decoder.header is None and done < len(lines):
                self._careful(start + done, lines[done])
                done += 1
            if done < len(lines):
                rest = lines[done:] if done else lines
                self.lane.zero = self._origin()  # lines are timed from it, as in _emit
                self.lane.run(start + done, rest, self._careful)
                if self._window:
                    self._seen_span(*self.lane.span)
        else:
            self._lines(eventlog, self.splitters[eventlog].feed(chunk))
        self.out.batch_done()

    def _notice(self, eventlog: str, notice: Notice) -> None:
        if take_notice(notice, eventlog, self.problems, self.splitters, self.out.error):
            self.state.has_main = False  # its end is told by the output alone
        if notice.restart and eventlog == "output":
            self.decoder.header = None  # the new file's header is no second one

    # -- the hot loop -------------------------------------------------------

    def _fast_ok(self) -> bool:
        """Whether the fast lane can write this job's data events."""
        return self._lane is not None

    def _careful(self, lineno: int, line: bytes) -> None:
        """One line the fast lane does not take."""
        if type(line) is bytes:  # problems are told of the line without its newline
            line = line.removesuffix(b"\n")
        for rec in self.decoder.decode([(lineno, line)]):
            self._record(rec)
            if type(rec) is Data and not self.lane.knows(rec.stream, rec.rank):
                selected = self.select(rec.rank, rec.ranks)
                route = self._route(rec, selected)
                self.lane.learn(rec.stream, rec.rank, route, selected)

    def _route(self, rec: Data, selected: IdSet) -> Route | None:
        """How the fast lane may write the events of this record's rank string."""
        if not selected or rec.stream not in self.opts.streams:
            return False
        if self.opts.mode == "raw":
            return ""
        if len(selected) > LANE_RANKS:
            return None
        if self.lane.mode in ("json", "records", "blocks"):  # the lane knows the tasks
            return ""
        if self.lane.mode == "text":  # no label: the line as it is, once per task
            return "" if len(selected) == 1 else [""] * len(selected)
        fd = 0 if rec.stream == "stdout" else 1
        # Decoded as the lane encodes its text: a job's name may not be UTF-8.
        texts = [self.out.line_prefix(fd, rank).decode(errors=BYTES) for rank in selected]
        return texts[0] if len(texts) == 1 else texts

    def idle(self) -> bool:
        """The source caught up: release --tail lines; True when the job is over."""
        if self.redirected:  # what the files hold is history too (--tail)
            self._write_redirected(self.redirected.poll())
        if not self._history_read:
            self._history_read = True
            self._show(self.filters.release())
        over = self._over()
        if not self.opts.follow or over:
            pass
        elif self.saved is not None:
            # A saved job that is not over: its files are polled as tail -f
            # does; when there is a status line (a terminal), say what they lack.
            if self._fed and self.attach.status_after is not None:
                text = self._saved_lack()
                if text != self._saved_wait:
                    self._saved_wait = text
                    self.out.status(text)
        elif self.pending is not None and (shown := self.pending.line(self.zero)):
            # Caught up and still not running: say why, as attach does.
            self.out.status(f"{self.name} {shown[0]}", shown[1])
        self._fed = False
        return over

    @property
    def has_main(self) -> bool:
        return self.state.has_main

    def _over(self) -> bool:
        return self.state.over

    def _saved_lack(self) -> str:
        """What a saved job that is not over lacks, as the status line says it."""
        files = self.saved or {}
        info = self.info
        if self.has_main and info.finish_status is None:
            where = "main"
            if info.state_event is None:
                lack = "no event yet"
            elif info.started:
                lack = "the job has not finished (no finish event yet)"
            elif info.fatal:
                lack = "no clean event yet"
            else:
                lack = f"the job has not started (its last event is {info.state_event})"
        elif "output" in files and not self.completion.complete:
            where, lack = "output", self._output_lack()
        elif self.has_main:
            where, lack = "main", f"no {self.attach.wait_event} event yet"
        else:
            where, lack = "exec", "no complete event yet"
        return f"waiting for more of {files.get(where, f'the {where} eventlog')}: {lack}"

    def _output_lack(self) -> str:
        """Which streams of which tasks have not ended ("no eof from tasks [2-3] yet")."""
        expected = self.completion.expected
        if expected is None:
            return "no header yet"
        missing = {
            stream: _missing(n, self.completion.ended[stream]) for stream, n in expected.items()
        }
        missing = {stream: ids for stream, ids in missing.items() if ids}
        if not missing:
            return "no end of the job yet"
        if len(set(missing.values())) == 1 and len(missing) == len(expected):
            return f"no eof from {_tasks(next(iter(missing.values())))} yet"
        parts = [f"no {stream} eof from {_tasks(ids)}" for stream, ids in missing.items()]
        return ", ".join(parts) + " yet"

    def finish(self, complete: bool = True) -> int:
        """End of input: flush what is held; return the exit status.

        ``complete`` is False when the source failed part way (the instance
        went away): then the job's end is unknown and no summary is given.
        """
        if complete and self._hosts_wanted and self.hosts is None:
            self._lines("exec", self.splitters["exec"].end())  # its shell.start may be last
            if self.hosts is None and _holds_data(self._held):
                self._hosts_failed(self.opts.no_r if self._r is None else self._no_taskmap())
            # No task wrote anything to label (their shells never started
            # them: no shell.start): the shell's messages go out as they are.
            self._hosts_wanted = False
            held, self._held = self._held, []
            for chunk in held:
                self.feed("output", chunk)
        self.lane.spill()
        for eventlog, splitter in self.splitters.items():
            self._lines(eventlog, splitter.end())
        if self.redirected:
            self._write_redirected(self.redirected.end())
        if self.opts.mode == "lines":
            self._emit(self.assembler.end_all())
        self._history_read = True
        self._show(self.filters.release())
        # What was held is written now, so a failed write (--split) counts.
        self.out.flush()
        if not complete:
            return ExitStatus.ERROR
        self._tell_window()
        return self._status()

    def _no_taskmap(self) -> str:
        what = "the job shell's taskmap (the exec eventlog's shell.start event)"
        if not self.has_exec:
            return f"{what}: there is no exec eventlog"
        return f"{what}: the exec eventlog has none"

    def _tell_window(self) -> None:
        """One warning when --since/--until lay outside all the job's lines."""
        if self._written is None:
            return  # no line to choose from: not the window's doing
        filters = self.filters
        why = window_misses(filters.since, filters.until, filters.start, *self._written)
        if why is not None:
            self.out.warning(f"{self.label}: warning: {why}")

    def _tell_tasks(self, ntasks: int) -> None:
        """One warning when -t selects none of the job's tasks."""
        why = no_task_selected(self.opts.tasks, ntasks)
        if why is not None and not self._tasks_told:
            self._tasks_told = True
            self.out.warning(f"{self.label}: warning: {why}")

    # -- decoding ---------------------------------------------------------

    def _lines(self, eventlog: str, lines: list[tuple[int, bytes]]) -> None:
        if not lines:
            return
        if eventlog == "output":
            self._output(lines)
            return
        for event in decode_events(lines, self.problems, eventlog, self.firsts[eventlog]):
            if self.first_time is None:
                self.first_time = event.timestamp
            if eventlog == "main":
                self._main(event)
            else:
                self._exec(event)

    def _main(self, event: Event) -> None:
        past_wait = self.state.past_wait  # as of the events before this one
        self.state.main(event)
        if self.zero is None:
            self.zero = event.timestamp
        if self.pending is not None:
            self.pending.see(event)
            if self.pending.over:
                self.pending = None
                self.out.status("")  # the wait is over: clear any status line
        if event.name == "start" and self.filters.start is None:
            self.filters.start = event.timestamp
        if past_wait:
            return  # past the wait event: attach shows nothing more of it
        # Every exception, whatever its severity, as attach prints it.
        if event.name == "exception":
            self.out.exception(format_exception(event, self.label, self.zero))
        elif self.attach.show_events:
            self.out.job_event(*format_event(event, "job", self.zero))

    def _exec(self, event: Event) -> None:
        self.state.exec(event)
        if event.name == "shell.start" and self.redirected is not None:
            self.redirected.taskmap(event.context.get("taskmap"))
        self._ran = self._ran or event.name == "complete"
        if event.name == "shell.start" and self._hosts_wanted and self.hosts is None:
            self._learn_hosts(event.context.get("taskmap"))
        zero = self.zero if self.zero is not None else event.timestamp
        if event.name == "log":
            head = exec_log_head(event, zero)
            if head is not None:
                self.out.exec_log("" if self.attach.quiet else head, event.context["data"])
        elif self.attach.show_exec:
            self.out.job_event(*format_event(event, "exec", zero))

    def _learn_hosts(self, taskmap: object) -> None:
        """Each task's host, from R and the taskmap: to the renderer, and
        to the selection (--hosts); then the output held until now."""
        if self._r is None:
            self._hosts_failed(self.opts.no_r)
        try:
            hosts = HostMap.of(self._r, taskmap)
        except HostsError as exc:
            self._hosts_failed(str(exc))
        self.hosts = hosts
        self.out.set_hosts(hosts)
        if self.opts.on_hosts is not None:
            tasks = hosts.tasks_on(self.opts.on_hosts)
            if self.opts.tasks is not None:
                tasks = tasks.intersect(self.opts.tasks)
            self.select = Selection(tasks)
            if not tasks:
                on = compress(dict.fromkeys(self.opts.on_hosts))
                self.out.warning(
                    f"{self.label}: warning: --hosts {on} selects no task of the job "
                    f"(its hosts: {compress(hosts.hosts)})"
                )
        self.lane.forget()  # labels and routes are learnt again
        held, self._held = self._held, []
        for chunk in held:
            self.feed("output", chunk)

    def _hosts_failed(self, why: str) -> NoReturn:
        """The hosts cannot be known: this job's one error line (status 1)."""
        self._hosts_wanted = False
        self._held = []
        raise FluxoutError(self.label, f"{self.opts.hosts_option} needs {why}")

    def _seen_span(self, low: float, high: float) -> None:
        """Lines written from low to high were chosen from (--since/--until)."""
        if low > high:
            return
        if self._written is not None:
            low, high = min(low, self._written[0]), max(high, self._written[1])
        self._written = (low, high)

    def _emit(self, lines: list[Line]) -> None:
        """Assembled lines, through the line filters (once per event: kept short)."""
        if self._window and lines:
            times = [line.timestamp for line in lines]
            self._seen_span(min(times), max(times))
        if self._filtering:
            lines = self.filters.apply(lines)
        if lines:
            self.out.lines(lines, self._origin())

    def _show(self, lines: list[Line]) -> None:
        """Lines past the filters (or held by them until now), to the renderer."""
        if lines:
            self.out.lines(lines, self._origin())

    def _origin(self) -> float | None:
        """What line times count from: the job's start (its "start" event,
        or the output header when there is no main eventlog), or for
        ``lines`` its submit (the first event read, without a main one)."""
        if self.opts.origin == "submit":
            submit = self.info.submit_time
            return submit if submit is not None else self.first_time
        start = self.filters.start
        return start if start is not None else self.zero

    def _output(self, lines: list[tuple[int, bytes]]) -> None:
        for rec in self.decoder.decode(lines):
            self._record(rec)

    def _record(self, rec: OutputRecord) -> None:
        """One decoded output record through the careful path."""
        if type(rec) is Data:
            if rec.eof:
                self.completion.end(rec.stream, rec.ranks)
            if rec.stream not in self.opts.streams:
                return
            ranks = self.select(rec.rank, rec.ranks)
            if ranks:
                self._data(rec, ranks)
        else:
            self._other(rec)

    def _data(self, rec: Data, ranks: IdSet) -> None:
        """A data record's bytes for the selected ``ranks``, as the mode writes them."""
        out = self.out
        mode = self.opts.mode
        if rec.data:
            if mode == "raw":
                out.raw(rec.stream, rec.data)
            elif mode == "lines":
                if self._expands(rec, ranks):
                    self._assemble(rec, ranks)
            elif mode in ("split", "blocks"):
                if self._expands(rec, ranks):
                    out.split(rec.stream, ranks, rec.data)
            else:
                rank = rec.rank if ranks is rec.ranks else ranks.format()
                out.event(rec.stream, rank, rec.data)
        if rec.eof and mode == "lines":
            ended = [self.assembler.end(rec.stream, r) for r in ranks]
            self._emit([line for line in ended if line is not None])
        elif rec.eof and mode == "blocks":
            out.end(rec.stream, ranks)

    def _write_redirected(self, records: Iterable[tuple[Data, IdSet]]) -> None:
        """Bytes read from the files the job's output went to, as its data."""
        for rec, ranks in records:
            self._data(rec, ranks)
        self.out.batch_done()

    def _expands(self, rec: Data, ranks: IdSet) -> bool:
        """Whether an event may be written once per task: at most
        MAX_EXPANSION bytes in all; else it is reported and skipped."""
        size = len(rec.data) * len(ranks)
        if size <= MAX_EXPANSION:
            return True
        message = (
            f"data event for {len(ranks)} tasks of {len(rec.data)} bytes each skipped "
            f"({size >> 20} MiB in all, more than {MAX_EXPANSION >> 20} MiB)"
        )
        self.problems(Problem(rec.lineno, message))
        return False

    def _assemble(self, rec: Data, ranks: IdSet) -> None:
        """An event into lines, a slice at a time: neither one event of many
        tasks nor one of many lines is ever turned into lines all at once."""
        assembler, ts, stream, data = self.assembler, rec.timestamp, rec.stream, rec.data
        if len(data) * len(ranks) <= SLICE:
            self._emit(assembler.feed(ts, stream, ranks, data))
        elif len(data) <= SLICE:  # many tasks: a group of them at a time
            group = max(1, SLICE // len(data))
            tasks = iter(ranks)
            while batch := list(itertools.islice(tasks, group)):
                self._emit(assembler.feed(ts, stream, batch, data))
        else:  # a big event: each task's part of it, a slice at a time
            for rank in ranks:
                for piece in _slices(data):
                    self._emit(assembler.feed(ts, stream, (rank,), piece))

    def _other(self, rec: OutputRecord) -> None:
        if isinstance(rec, Header):
            if self.first_time is None:
                self.first_time = rec.timestamp
            self.completion.header(dict(rec.count))
            count = rec.count.get("stdout")
            if isinstance(count, int):
                self.out.set_tasks(count)
                self.lane.forget()
                self._tell_tasks(count)
            if self.zero is None:
                self.zero = rec.timestamp
            if self.filters.start is None:
                self.filters.start = rec.timestamp
        elif isinstance(rec, Redirect):
            self.completion.end(rec.stream, rec.ranks)
            if rec.stream in self.opts.streams and self.select(rec.rank, rec.ranks):
                self.redirects.append(rec)
                read = self.redirected is not None and self.redirected.add(rec)
                if not read and not self.attach.quiet:
                    self.out.redirect(rec)
        elif isinstance(rec, Log) and rec.level <= self.opts.log_level and not self.attach.quiet:
            zero = self.zero if self.zero is not None else rec.timestamp
            self.out.log(rec, zero, self.attach.verbose)

    def _status(self) -> int:
        status: int = ExitStatus.SUCCESS
        if self.opts.follow:
            known = self.state.exit_status()
            if known is None:
                self.out.warning(f"{self.label}: warning: {self._unknown_status()}")
            else:
                status, message = known
                if message:
                    self.out.error(f"{self.label}: {message}")
                if self._ran and not self._output_seen:
                    self.out.error(f"{self.label}: No job output found")  # as attach
                if self.opts.summary:
                    for line in failure_summary(self.info, self.redirects, status, self.has_main):
                        self.out.error(f"{self.label}: {line}")
        self.problems.summary()
        if self.problems.errors and status == ExitStatus.SUCCESS:
            status = ExitStatus.ERROR
        return status

    def _unknown_status(self) -> str:
        """Why follow cannot give the job's exit status (no main eventlog)."""
        if not self.has_exec:
            why = "no main or exec eventlog"
        else:
            why = "no main eventlog, and no complete event in the exec eventlog"
        return f"{why}: the job's exit status is unknown (exiting 0)"


def _holds_data(chunks: list[bytes | Notice]) -> bool:
    """Whether held output eventlog bytes hold a data event (a task's output)."""
    text = b"".join(c for c in chunks if isinstance(c, bytes))
    for line in text.split(b"\n"):
        if b"data" not in line:
            continue
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue
        if isinstance(event, dict) and event.get("name") == "data":
            return True
    return False


def _missing(count: int, ended: set[int]) -> IdSet:
    """The ranks 0 to count-1 not in ended, as ranges (a header may claim
    many tasks: this costs what ended holds, not what it claims)."""
    ranges: list[tuple[int, int]] = []
    low = 0
    for rank in sorted(r for r in ended if 0 <= r < count):
        if rank > low:
            ranges.append((low, rank - 1))
        low = rank + 1
    if low < count:
        ranges.append((low, count - 1))
    return IdSet(ranges)


def _tasks(ids: IdSet) -> str:
    return f"task {ids.format()}" if len(ids) == 1 else f"tasks {ids.format()}"


def _slices(data: bytes) -> Iterator[bytes]:
    """``data`` in pieces of about SLICE bytes, cut after a newline where
    there is one (the assembler completes a line cut elsewhere)."""
    view = memoryview(data)
    start = 0
    while start < len(data):
        end = min(start + SLICE, len(data))
        if end < len(data):
            cut = data.rfind(b"\n", start, end)
            end = cut + 1 if cut >= start else end
        yield bytes(view[start:end])
        start = end
