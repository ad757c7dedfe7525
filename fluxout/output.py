"""flux.job.output's interface over fluxout's core: change one import.

    from fluxout.output import job_output, output_watch_lines   # was flux.job.output

    out = job_output(h, jobid)            # JobOutput(stdout, stderr, log)
    for stream, line in output_watch_lines(h, jobid):
        ...

The functions, classes and constants of flux-core's ``flux.job.output``
(0.88), with its arguments and its errors: ``FileNotFoundError`` for an
unknown job, ``OSError`` (EIO) ``job ID never started`` from the watches
for a job that never ran, ``flux.job.JobException`` from ``job_output``
for a job that an exception kept from starting. ``flux_handle`` may be a
``flux.Flux`` handle, a URI, or None (FLUX_URI); ``jobid`` may be a path to
a saved eventlog or job directory, as on the command line: then no Flux is
needed (and the saved files are read once, as they are).

Deliberate differences (the README lists them too):

* ``output_watch_lines`` yields whole lines: a task's partial writes are
  completed by its later writes before the line is given, per stream and
  task, so lines of different tasks never mix; a last line without a
  newline comes last, as it is. Lines end at ``\\n`` only (not at ``\\r``
  or the other breaks of ``str.splitlines``). An event written for several
  tasks gives each of them its line.
* ``labelio``: labels are per line, never mid-line (``R: `` before each
  line of task R; ``job_output``, ``output_watch`` and the lines watch
  label each task's assembled lines, and every labelled line ends in a
  newline; ``output_event_watch`` labels the lines that start in an event).
* ``job_output`` ends each shell log message with a newline, and puts a
  redirect's note on stderr, as the watches do (the original glued log
  messages together and dropped redirects: its ``event.name in
  "exception"`` is a substring test).
* Memory does not grow with the output in the generators; ``output_watch``
  gives the data of several events of one stream at once.
* A bad eventlog line or an unknown event is skipped and reported (as an
  ``EventlogWarning``), not raised; ``Taskset.ids`` is a
  ``fluxout.idset.IdSet`` (no Flux needed), which has ``len``, iteration,
  ``in`` and ``str`` as flux's IDset does.
* The ``*_async`` functions and their futures (``JobOutputWatch``,
  ``JobOutputWatchLines``, ``JobOutputEventWatch``) are Flux futures as
  the originals are (``then``, ``get_output``/``getline``/``get_event``,
  ``reset``, ``cancel``), with the same records as the generators: whole
  lines, labels per line, a fulfillment per record with the records held
  only until taken. They read jobs of an instance (a jobid; a saved job's
  path is for the generators), and a job whose shell never started ends
  (its exceptions, then the end) instead of waiting on forever.
"""

from __future__ import annotations

import errno
import json
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple, TypeVar

import orjson

from fluxout.collect import Chunk, Collector
from fluxout.errors import NotFoundError
from fluxout.eventlog import (
    Event,
    FirstEntry,
    LineSplitter,
    Log,
    Redirect,
    decode_base64,
    decode_events,
    event_ranks,
)
from fluxout.events import EventReader
from fluxout.idset import IdSet, parse_task_filter
from fluxout.job import JobOutput as Pipeline
from fluxout.job import OutputOptions, Problems
from fluxout.library import (
    EventlogWarning,
    Instance,
    Job,
    Reader,
    Report,
    open_job,
    read_alone,
)
from fluxout.lines import Line
from fluxout.sources.base import EVENTLOGS, Notice, Source

__all__ = [
    "LOG_DEBUG",
    "LOG_ERROR",
    "LOG_FATAL",
    "LOG_NOTICE",
    "LOG_QUIET",
    "LOG_TRACE",
    "LOG_WARN",
    "EventLogEvent",
    "EventlogWarning",
    "JobExceptionEvent",
    "JobOutput",
    "LogEvent",
    "OutputEvent",
    "OutputHeaderEvent",
    "RedirectEvent",
    "Taskset",
    "job_output",
    "output_event_watch",
    "output_event_watch_async",
    "output_watch",
    "output_watch_async",
    "output_watch_lines",
    "output_watch_lines_async",
]

# Log levels from the job shell (shell.h), for log_stderr_level.
LOG_QUIET = -1
LOG_FATAL = 0
# LOG_ALERT=1, LOG_CRIT=2 are reserved in shell.h
LOG_ERROR = 3
LOG_WARN = 4
LOG_NOTICE = 5
LOG_DEBUG = 6
LOG_TRACE = 7

LEVEL_STRINGS = ["FATAL", "FATAL", "FATAL", "ERROR", " WARN", "", "DEBUG", "TRACE"]
BYTES = "surrogateescape"  # bytes that are not UTF-8, as flux.job.output decodes them


class Taskset:
    """A set of task ranks, or all tasks (``"all"`` or ``"*"``).

    ``all``: whether it stands for every task; ``ids``: else the ranks, a
    ``fluxout.idset.IdSet`` (None when ``all``). ``intersect`` tells whether
    two tasksets meet.
    """

    def __init__(self, tasks: Any) -> None:
        self.all = False
        self.ids: IdSet | None = None
        if isinstance(tasks, Taskset):
            self.all, self.ids = tasks.all, tasks.ids
        elif isinstance(tasks, IdSet):
            self.ids = tasks
        elif isinstance(tasks, str) and tasks.strip() in ("all", "*"):
            self.all = True
        elif isinstance(tasks, str):
            self.ids = _idset(tasks)
        elif isinstance(tasks, bool):
            raise TypeError("a taskset is an idset string, ranks or a Taskset, not a bool")
        elif isinstance(tasks, int):
            self.ids = IdSet.of((tasks,))
        elif isinstance(tasks, Iterable):
            self.ids = IdSet.of(int(rank) for rank in tasks)
        else:  # flux's IDset, or anything else whose str is an idset
            self.ids = _idset(str(tasks))

    def intersect(self, tasks: Any) -> Taskset:
        other = tasks if isinstance(tasks, Taskset) else Taskset(tasks)
        if self.all:
            return Taskset(other)
        if other.all:
            return Taskset(self)
        assert self.ids is not None and other.ids is not None
        return Taskset(self.ids.intersect(other.ids))

    def __bool__(self) -> bool:
        return self.all or bool(self.ids)

    def __str__(self) -> str:
        if self.all:
            return "all"
        assert self.ids is not None
        return self.ids.format(brackets=False)

    def __repr__(self) -> str:
        return f"Taskset({str(self)!r})"


def _idset(text: str) -> IdSet:
    """An idset as flux's IDset takes it (any order, brackets or not)."""
    parsed = parse_task_filter(text) if text.strip() else IdSet()
    return parsed if parsed is not None else IdSet()


# -- events -------------------------------------------------------------------


class EventLogEvent(dict[str, Any]):
    """One eventlog entry (RFC 18), a dict, as flux.eventlog.EventLogEvent."""

    def __init__(self, event: str | dict[str, Any]) -> None:
        super().__init__(json.loads(event) if isinstance(event, str) else event)
        if "context" not in self:
            self["context"] = {}

    def __str__(self) -> str:
        return f"{self.timestamp:<0.5f}: {self.name} {self.context}"

    @property
    def name(self) -> str:
        return str(self["name"])

    @property
    def timestamp(self) -> float:
        return float(self["timestamp"])

    @property
    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = self["context"]
        return context

    @property
    def context_string(self) -> str:
        if not self.context:
            return ""
        return json.dumps(self.context, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _entry(entry: Any, name: str) -> dict[str, Any]:
    event = entry if isinstance(entry, dict) else EventLogEvent(entry)
    if event.get("name") != name:
        raise ValueError(f"event {event.get('name')} is not a {name} event")
    return event


def _label_lines(label: str, data: str, at_start: bool) -> str:
    """``data`` with ``label`` before each line that starts in it."""
    pieces = data.split("\n")
    last = pieces.pop()  # what follows the last newline
    text = "\n".join(label + p if at_start or i else p for i, p in enumerate(pieces))
    if pieces:
        text += "\n"
    if last:
        text += (label if at_start or pieces else "") + last
    return text


class OutputEvent(EventLogEvent):
    """An RFC 24 data event: ``rank`` (Taskset), ``stream``, ``data`` (str,
    or None for an eof event), ``eof``, ``timestamp``, ``name`` ("data").

    With ``labelio``, each line that starts in the event gets its ``R: ``
    label (no newline is added to a partial line).
    """

    def __init__(self, entry: Any, labelio: bool = False) -> None:
        super().__init__(_entry(entry, "data"))
        context = self.context
        self.rank = Taskset(_ranks(context.get("rank")))
        stream = context["stream"]
        if stream not in ("stdout", "stderr"):
            raise ValueError(f"unknown stream {stream!r}")
        self.stream: str = stream
        self.eof = context.get("eof", False) is True
        self.data: str | None = None
        if "data" in context:
            data = context["data"]
            if not isinstance(data, str):
                raise ValueError("data is not a string")
            if context.get("encoding") == "base64":
                data = decode_base64(data).decode("utf-8", BYTES)
            if labelio:
                data = _label_lines(f"{self.rank}: ", data, True)
            self.data = data

    def render(self) -> str | None:
        return self.data


def _ranks(rank: Any) -> IdSet:
    if not isinstance(rank, str):
        raise ValueError(f"bad rank {rank!r}")
    return event_ranks(rank)


class LogEvent(EventLogEvent):
    """An RFC 24 log event of the job shell: ``rank``, ``level``,
    ``levelstr``, ``message``, ``component``, ``file``, ``line``."""

    log_level_string = LEVEL_STRINGS

    def __init__(self, entry: Any) -> None:
        super().__init__(_entry(entry, "log"))
        context = self.context
        self.level: int = context["level"]
        if isinstance(self.level, bool) or not isinstance(self.level, int):
            raise ValueError(f"level {self.level!r} is not an integer")
        self.rank = Taskset(context.get("rank", "all"))
        self.message: str = context["message"]
        self.component: str | None = context.get("component")
        self.file: str | None = context.get("file")
        self.line: int = context.get("line", -1)

    @property
    def levelstr(self) -> str:
        return _levelstr(self.level)

    def render(self, include_file_and_line: bool = False) -> str:
        where = f"{self.file}:{self.line}" if include_file_and_line and self.file else None
        return _log_text(str(self.rank), self.level, self.component, where, self.message)


def _levelstr(level: int) -> str:
    return LEVEL_STRINGS[level] if 0 <= level < len(LEVEL_STRINGS) else ""


def _log_text(
    rank: str | None, level: int, component: str | None, where: str | None, message: str
) -> str:
    """A shell log message as flux.job.output renders it (no newline)."""
    prefix = f"flux-shell[{rank}]: " if rank is not None else "flux-shell: "
    levelstr = _levelstr(level)
    if levelstr:
        prefix += f"{levelstr}: "
    if component:
        prefix += f"{component}: "
    if where:
        prefix += f"{where}: "
    return prefix + message


class OutputHeaderEvent(EventLogEvent):
    """The RFC 24 header: ``version``, ``stdout_count``, ``stderr_count``,
    ``stdout_encoding``, ``stderr_encoding``."""

    def __init__(self, entry: Any) -> None:
        super().__init__(_entry(entry, "header"))
        context = self.context
        self.version: int = context["version"]
        self.stderr_count: int = context["count"]["stderr"]
        self.stdout_count: int = context["count"]["stdout"]
        self.stdout_encoding: str = context["encoding"]["stdout"]
        self.stderr_encoding: str = context["encoding"]["stderr"]


class RedirectEvent(EventLogEvent):
    """An RFC 24 redirect: ``stream`` of the tasks ``rank`` went to ``path``."""

    def __init__(self, entry: Any) -> None:
        super().__init__(_entry(entry, "redirect"))
        context = self.context
        self.stream: str = context["stream"]
        self.rank = Taskset(_ranks(context.get("rank")))
        self.path: str = context["path"]

    def render(self) -> str:
        return f"{self.rank}: {self.stream} redirected to {self.path}"


def _redirect_text(rec: Redirect) -> str:
    to = f" to {rec.path}" if rec.path is not None else ""
    return f"{rec.ranks.format(brackets=False)}: {rec.stream} redirected{to}"


class JobExceptionEvent(EventLogEvent):
    """A job exception of the main eventlog: ``severity``, ``exc_type``, ``note``."""

    def __init__(self, entry: Any) -> None:
        super().__init__(_entry(entry, "exception"))
        context = self.context
        self.severity: int = context["severity"]
        self.exc_type: str = context["type"]
        self.note: str = context.get("note", "")

    def render(self) -> str:
        result = f"job.exception: type={self.exc_type} severity={self.severity}"
        if self.note:
            result += f" {self.note}"
        return result


class _FallbackJobException(Exception):
    """flux.job.JobException's stand-in, when the Flux bindings are not
    there (a saved eventlog read without Flux)."""

    def __init__(self, event: JobExceptionEvent) -> None:
        self.timestamp = event.timestamp
        self.type = event.exc_type
        self.note = event.note
        self.severity = event.severity
        super().__init__()

    def __str__(self) -> str:
        return f"job.exception: type={self.type}: {self.note}"


def _job_exception_class() -> type[Exception]:
    from fluxout.sources.flux.boundary import flux_job_exception

    return flux_job_exception() or _FallbackJobException


def __getattr__(name: str) -> Any:
    # fluxout.output.JobException: flux.job.JobException when Flux is
    # there, else its stand-in: what job_output raises either way.
    if name == "JobException":
        return _job_exception_class()
    if name in _FUTURES:
        return _future_classes()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class JobOutput(NamedTuple):
    """A job's output: ``stdout`` and ``stderr`` of all (selected) tasks,
    and the ``log`` messages not sent to stderr."""

    stdout: str
    stderr: str
    log: str


# -- reading a job ------------------------------------------------------------


class _Life:
    """What the main and exec eventlogs say, as flux.job.output watches
    them: the exceptions before 'finish', whether the job started."""

    def __init__(self, has_main: bool) -> None:
        self.has_main = has_main
        self.started = False
        self.finished = False
        self.shell_init = False
        self.fatal: JobExceptionEvent | None = None

    def see(self, eventlog: str, event: Event) -> JobExceptionEvent | None:
        """An event; the exception to report, if it is one."""
        if eventlog == "exec":
            self.shell_init = self.shell_init or event.name == "shell.init"
            return None
        if event.name == "start":
            self.started = True
        elif event.name == "finish":
            self.finished = True
        elif event.name == "exception" and not self.finished:
            try:
                exc = JobExceptionEvent(_dict(event))
            except (KeyError, TypeError, ValueError):
                return None
            if exc.severity == 0 and self.fatal is None:
                self.fatal = exc
            return exc
        return None

    def never_started(self, name: str) -> OSError | None:
        if self.has_main and not self.started:
            return OSError(errno.EIO, f"job {name} never started")
        return None


def _dict(event: Event) -> dict[str, Any]:
    return {"timestamp": event.timestamp, "name": event.name, "context": event.context}


class _Tap:
    """The main and exec eventlogs decoded beside the pipeline (which
    reports their bad lines itself): they are small."""

    def __init__(self, life: _Life) -> None:
        self.life = life
        self.splitters = {name: LineSplitter() for name in ("main", "exec")}
        self.firsts = {name: FirstEntry(name) for name in ("main", "exec")}

    def feed(self, eventlog: str, chunk: bytes) -> list[JobExceptionEvent]:
        lines = self.splitters[eventlog].feed(chunk)
        return self._see(eventlog, lines)

    def end(self) -> list[JobExceptionEvent]:
        return [e for name in ("main", "exec") for e in self._see(name, self.splitters[name].end())]

    def _see(self, eventlog: str, lines: list[tuple[int, bytes]]) -> list[JobExceptionEvent]:
        found = []
        for event in decode_events(lines, lambda problem: None, eventlog, self.firsts[eventlog]):
            exc = self.life.see(eventlog, event)
            if exc is not None:
                found.append(exc)
        return found


Item = tuple[str, str]  # (stream, text)
T = TypeVar("T")


class _OutputReader:
    """One job through the pipeline, as flux.job.output's (stream, text)
    items: data (raw, or labelled lines), shell log messages, redirects and
    the job's exceptions, in the order they come."""

    def __init__(
        self,
        source: Source,
        wanted: frozenset[str],
        options: OutputOptions,
        log_stderr_level: int,
        labelio: bool,
        report: Report,
        lines: bool = False,
        keepends: bool = False,
        exceptions: bool = True,
    ) -> None:
        self.source = source
        self.exceptions = exceptions  # the job's exceptions on stderr (the watches)
        self.wanted = wanted
        self.log_stderr_level = log_stderr_level
        self.labelio = labelio
        self.lines = lines
        self.keepends = keepends
        self.out = Collector(report, label=labelio and not lines)
        has_main = "main" in wanted and "main" in source.eventlogs
        self.pipeline = Pipeline(source.name, has_main, options, self.out)
        self.life = _Life(has_main)
        self.tap = _Tap(self.life)
        self.saw_output = False
        self.items: list[Item] = []

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        if isinstance(chunk, bytes):
            if eventlog in ("main", "exec"):
                self._exceptions(self.tap.feed(eventlog, chunk))
            elif eventlog == "output" and chunk:
                self.saw_output = True
        self.pipeline.feed(eventlog, chunk)

    def idle(self) -> bool:
        return self.pipeline.idle()

    def finish(self) -> None:
        self._exceptions(self.tap.end())
        self.pipeline.finish()

    def _exceptions(self, found: list[JobExceptionEvent]) -> None:
        if self.exceptions:
            for exc in found:
                self._message("stderr", exc.render())

    def _message(self, stream: str, text: str) -> None:
        if not self.lines:
            self.items.append((stream, text + "\n"))
            return
        end = "\n" if self.keepends else ""
        self.items.extend((stream, line + end) for line in text.split("\n"))

    def take(self) -> list[Item]:
        for item in self.out.take():
            if isinstance(item, Chunk):
                self.items.append((item.stream, item.data.decode("utf-8", BYTES)))
            elif isinstance(item, list):
                self._lines(item)
            elif isinstance(item, Log):
                stream = "stderr" if item.level <= self.log_stderr_level else "log"
                rank = str(item.rank) if item.rank is not None else None
                self._message(
                    stream, _log_text(rank, item.level, item.component, None, item.message)
                )
            elif isinstance(item, Redirect):
                self._message("stderr", _redirect_text(item))
        items, self.items = self.items, []
        return items

    def _lines(self, lines: list[Line]) -> None:
        keepends = self.keepends
        label = self.labelio
        add = self.items.append
        for line in lines:
            text = line.text.decode("utf-8", BYTES)
            if label:
                text = f"{line.rank}: {text}"
            if keepends and (line.eol or label):
                text += "\n"
            add((line.stream, text))


def _open(flux_handle: Any, jobid: Job, nowait: bool = False) -> Source:
    """The job's source; FileNotFoundError for no such job (or path)."""
    try:
        return open_job(jobid, Instance.of(flux_handle))
    except NotFoundError as exc:
        if nowait:
            raise FileNotFoundError(
                errno.ENOENT, f"job {exc.job} does not exist or output not ready"
            ) from None
        if exc.message == "no such job":
            raise FileNotFoundError(errno.ENOENT, f"job {exc.job} not found") from None
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", exc.job) from None


def _live(source: Source) -> bool:
    """Whether the job is read from an instance (followed until it is over);
    a saved job is read once, as it is."""
    from fluxout.sources.file import PathSource, StdinSource

    return not isinstance(source, (PathSource, StdinSource))


def _warn(text: str) -> None:
    """A bad eventlog line, skipped: told as an EventlogWarning."""
    import warnings

    warnings.warn(text, EventlogWarning, stacklevel=3)


def _reader(
    source: Source,
    nowait: bool,
    tasks: Any = "*",
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    lines: bool = False,
    keepends: bool = False,
    exceptions: bool = True,
) -> _OutputReader:
    taskset = Taskset(tasks)
    options = OutputOptions(
        tasks=None if taskset.all else taskset.ids,
        mode="lines" if labelio or lines else "raw",
        # lines: Line records; labelio: each line after its label; else the bytes.
        lane="records" if lines else "labelled" if labelio else "raw",
        log_level=LOG_TRACE,  # every message: log_stderr_level picks its stream
    )
    wanted = frozenset({"output"}) if nowait else frozenset(EVENTLOGS)
    return _OutputReader(
        source, wanted, options, log_stderr_level, labelio, _warn, lines, keepends, exceptions
    )


def job_output(
    flux_handle: Any,
    jobid: Job,
    tasks: Any = "*",
    labelio: bool = False,
    nowait: bool = False,
    log_stderr_level: int = LOG_TRACE,
) -> JobOutput:
    """A job's output, once it is complete: JobOutput(stdout, stderr, log).

    ``tasks``: an idset of the task ranks to include ("*": all).
    ``labelio``: each line prefixed with its task rank (``R: ``).
    ``nowait``: the output there is now, without waiting for the job to
    finish; FileNotFoundError when there is none yet (or no such job).
    Shell log messages at or below ``log_stderr_level`` go to stderr, the
    others to ``log`` (LOG_QUIET: all to ``log``).

    Raises FileNotFoundError for no such job, and flux.job.JobException
    (``fluxout.output.JobException``) when an exception kept the job from
    starting.
    """
    source = _open(flux_handle, jobid, nowait)
    # As flux.job.output: the output eventlog's data and messages, without
    # the job's exceptions.
    reader = _reader(source, nowait, tasks, labelio, log_stderr_level, exceptions=False)
    parts: dict[str, list[str]] = {"stdout": [], "stderr": [], "log": []}
    for stream, text in read_alone(reader, _live(source) and not nowait):
        parts[stream].append(text)
    if nowait and not reader.saw_output:
        raise FileNotFoundError(
            errno.ENOENT, f"job {source.name} does not exist or output not ready"
        )
    life = reader.life
    if not nowait and life.has_main:
        # As flux.job.output: the job's shells never started (no start
        # event, or no shell.init in the exec eventlog) and an exception
        # says why.
        no_shell = "exec" in source.eventlogs and not life.shell_init
        if (not life.started or no_shell) and life.fatal is not None:
            raise _job_exception_class()(life.fatal)
        if not life.started:
            raise OSError(errno.EIO, f"job {source.name} never started")
    return JobOutput(*("".join(parts[s]) for s in ("stdout", "stderr", "log")))


def _watch(reader: Reader[T], life: _Life, live: bool) -> Iterator[T]:
    """A watch's items; then, for a job that never started, OSError (EIO)."""
    yield from read_alone(reader, live)
    error = life.never_started(reader.source.name)
    if error is not None:
        raise error


def output_watch(
    flux_handle: Any,
    jobid: Job,
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    nowait: bool = False,
) -> Iterator[tuple[str, str]]:
    """A job's output as it comes: ``(stream, data)``, stream one of
    "stdout", "stderr" or "log", until the job's output is complete.

    Shell log messages, redirects and job exceptions come as lines of
    stderr (log messages above ``log_stderr_level`` on "log"). ``nowait``:
    the output eventlog alone is watched (no exceptions, no wait for the
    job to start). A job that never started raises OSError (EIO).
    """
    source = _open(flux_handle, jobid)
    reader = _reader(source, nowait, labelio=labelio, log_stderr_level=log_stderr_level)
    yield from _watch(reader, reader.life, _live(source))


def output_watch_lines(
    flux_handle: Any,
    jobid: Job,
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    nowait: bool = False,
    keepends: bool = False,
) -> Iterator[tuple[str, str]]:
    """A job's output as it comes, a whole line at a time: ``(stream, line)``.

    As ``output_watch``, with each task's lines completed before they are
    given (see the module's notes); ``keepends``: keep each line's newline.
    """
    source = _open(flux_handle, jobid)
    reader = _reader(
        source,
        nowait,
        labelio=labelio,
        log_stderr_level=log_stderr_level,
        lines=True,
        keepends=keepends,
    )
    yield from _watch(reader, reader.life, _live(source))


# The plain data events' fast way (see _EventReader.feed): objects made
# without their __init__, which checks what _plain has checked.
_TASKSET_NEW = object.__new__
_EVENT_NEW = dict.__new__
_dict_update = dict.update
orjson_loads = orjson.loads


class _EventReader:
    """One job's output events (and exceptions) as flux.job.output's objects."""

    def __init__(self, source: Source, wanted: frozenset[str], labelio: bool) -> None:
        self.source = source
        self.wanted = wanted & source.eventlogs if source.eventlogs else wanted
        self.labelio = labelio
        self.problems = Problems(source.name, _warn)
        self.reader = EventReader(source, self.wanted, self.problems)
        self.life = _Life("main" in self.wanted)
        self.at_start: dict[tuple[str, str], bool] = {}  # labelio: at a line's start
        self.unknown: set[str] = set()  # unknown event names, told once each
        self.items: list[EventLogEvent] = []

    def feed(self, eventlog: str, chunk: bytes | Notice) -> None:
        if eventlog != "output" or isinstance(chunk, Notice):
            self._see(self.reader.feed(eventlog, chunk))
            return
        # Nearly every line is a plain data event (one task's text, no eof:
        # nothing the job's state learns from): it is made an OutputEvent
        # here, straight from its JSON; any other line (and a bad one) goes
        # the careful way, in its place. As there, a chunk's bad lines are
        # told as it is decoded, before its events' own problems.
        reader = self.reader
        # (split: the lines with their newline, which JSON allows at the end)
        first_lineno, lines = reader.splitters["output"].split(chunk)
        first = reader.firsts["output"]
        items = self.items
        start = len(items)
        plain = self._plain
        careful: list[tuple[int, list[tuple[str, Event]]]] = []  # (where, events)
        for lineno, line in enumerate(lines, first_lineno):
            try:
                made = plain(orjson_loads(line))
            except (orjson.JSONDecodeError, ValueError):  # an idset error is one
                made = None
            if made is None:
                # as LineSplitter.feed gives it (an OverlongLine has no newline)
                line = line[:-1] if type(line) is bytes else line
                careful.append((len(items), reader.decode("output", [(lineno, line)])))
            else:
                first.seen = True
                items.append(made)
        if careful or self.labelio:  # in line order: the labels' state too
            fast = items[start:]
            del items[start:]
            careful.append((start + len(fast), []))
            done = start
            for at, events in careful:
                made_fast = fast[done - start : at - start]
                if self.labelio:
                    for event in made_fast:
                        if isinstance(event, OutputEvent):  # (all of them are)
                            self._label(event)
                items.extend(made_fast)
                done = at
                self._see(events)

    def _plain(self, obj: Any) -> OutputEvent | None:
        """The OutputEvent of a plain data event (as OutputEvent(entry) makes
        it, with its attributes in the same order), or None for any other
        entry. Its checks are the careful path's, for this one shape."""
        if type(obj) is not dict:
            return None
        context = obj.get("context")
        ts = obj.get("timestamp")
        if type(context) is not dict or len(context) != 3 or type(ts) is not float:
            return None
        if obj.get("name") != "data":
            return None
        stream = context.get("stream")
        rank = context.get("rank")
        data = context.get("data")
        if (stream != "stdout" and stream != "stderr") or type(rank) is not str:
            return None
        if type(data) is not str:
            return None
        taskset = _TASKSET_NEW(Taskset)
        taskset.all = False
        taskset.ids = event_ranks(rank)  # ValueError (IdsetError) for a bad one
        event = _EVENT_NEW(OutputEvent)
        _dict_update(event, {"timestamp": ts, "name": "data", "context": context})
        event.rank = taskset
        event.stream = stream
        event.eof = False
        event.data = data
        return event

    def _label(self, event: OutputEvent) -> None:
        """labelio: the label before each line that starts in the event's
        data (a line its task's last event left open is not labelled again)."""
        if not event.data:
            return
        label = str(event.rank)
        key = (event.stream, label)
        text = event.data
        event.data = _label_lines(f"{label}: ", text, self.at_start.get(key, True))
        self.at_start[key] = text.endswith("\n")

    def idle(self) -> bool:
        return self.reader.over

    def finish(self) -> None:
        self._see(self.reader.end())

    def take(self) -> list[EventLogEvent]:
        items, self.items = self.items, []
        return items

    def _see(self, events: list[tuple[str, Event]]) -> None:
        for eventlog, event in events:
            if eventlog != "output":
                exc = self.life.see(eventlog, event)
                if exc is not None:
                    self.items.append(exc)
                continue
            try:
                made = self._event(event)
            except (KeyError, TypeError, ValueError) as exc:
                self.problems.report(
                    f"{self.source.name}: output eventlog line {event.lineno}: "
                    f"{event.name} event skipped ({type(exc).__name__}: {exc})"
                )
                continue
            if made is not None:
                self.items.append(made)

    def _event(self, event: Event) -> EventLogEvent | None:
        entry = _dict(event)
        name = event.name
        if name == "data":
            data = OutputEvent(entry)
            if self.labelio:
                self._label(data)
            return data
        if name == "log":
            return LogEvent(entry)
        if name == "header":
            return OutputHeaderEvent(entry)
        if name == "redirect":
            return RedirectEvent(entry)
        if name not in self.unknown:
            self.unknown.add(name)
            self.problems.report(
                f"{self.source.name}: output eventlog line {event.lineno}: "
                f"unknown event {name!r} skipped"
            )
        return None


def output_event_watch(
    flux_handle: Any, jobid: Job, labelio: bool = False, nowait: bool = False
) -> Iterator[EventLogEvent]:
    """A job's output events as they come: OutputHeaderEvent, OutputEvent,
    LogEvent, RedirectEvent, and the job's exceptions (JobExceptionEvent,
    before it finished), until its output is complete. ``nowait``: the
    output eventlog alone. A job that never started raises OSError (EIO)
    after its exceptions."""
    source = _open(flux_handle, jobid)
    wanted = frozenset({"output"}) if nowait else frozenset(("main", "output"))
    reader = _EventReader(source, wanted, labelio)
    yield from _watch(reader, reader.life, _live(source))


# -- the futures ----------------------------------------------------------------


class _Named:
    """The job a future reads, as its reader names it: the future feeds
    the reader itself (fluxout.sources.flux.boundary.watch_future_class)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.eventlogs = frozenset(EVENTLOGS)

    def chunks(self, follow: bool, wanted: frozenset[str]) -> Iterator[tuple[str, bytes]]:
        raise NotImplementedError("fed by its future")


def _async_job(flux_handle: Any, jobid: Any) -> tuple[Any, int, str]:
    """A future's handle (the caller's, or one to a URI or FLUX_URI), jobid
    and name (f58)."""
    from fluxout.jobid import format_jobid, parse_jobid
    from fluxout.sources.target import is_path_argument

    if isinstance(jobid, bool):
        raise TypeError("a job is a jobid or an int, not a bool")
    if isinstance(jobid, int):
        jid = int(jobid)
    elif isinstance(jobid, str) and not is_path_argument(jobid):
        jid = parse_jobid(jobid)
    else:
        raise ValueError(
            f"{jobid}: the *_async functions read jobs of an instance; "
            "read a saved job with output_watch() or output_event_watch()"
        )
    name = format_jobid(jid)
    if flux_handle is None or isinstance(flux_handle, str):
        from fluxout.sources.flux.bindings import import_flux

        flux = import_flux(name)
        flux_handle = flux.Flux(flux_handle) if flux_handle else flux.Flux()
    return flux_handle, jid, name


_FUTURES = ("JobOutputEventWatch", "JobOutputWatch", "JobOutputWatchLines")
_CLASSES: dict[str, type] = {}


def _future_classes() -> dict[str, type]:
    """The future classes, made when Flux is first needed (fluxout.output
    imports no flux): subclasses of flux.future.FutureExt."""
    if _CLASSES:
        return _CLASSES
    from fluxout.sources.flux.boundary import watch_future_class

    base: Any = watch_future_class()

    class JobOutputEventWatch(base):  # type: ignore[misc]
        """A job's output events as a Flux future (output_event_watch_async)."""

        def __init__(
            self, flux_handle: Any, jobid: Any, labelio: bool = False, nowait: bool = False
        ) -> None:
            handle, jid, name = _async_job(flux_handle, jobid)
            wanted = frozenset({"output"}) if nowait else frozenset(("main", "output"))
            reader = _EventReader(_Named(name), wanted, labelio)
            super().__init__(handle, jid, name, reader, nowait, None)

        def get_event(self, autoreset: bool = True) -> EventLogEvent | None:
            """The next event, or None when the output is complete."""
            event: EventLogEvent | None = self.get()
            if event is None:
                return None
            if autoreset:
                self.reset()
            return event

    class JobOutputWatch(base):  # type: ignore[misc]
        """A job's output as a Flux future (output_watch_async)."""

        def __init__(
            self,
            flux_handle: Any,
            jobid: Any,
            labelio: bool = False,
            log_stderr_level: int = LOG_TRACE,
            nowait: bool = False,
        ) -> None:
            handle, jid, name = _async_job(flux_handle, jobid)
            reader = _reader(
                _Named(name),
                nowait,
                labelio=labelio,
                log_stderr_level=log_stderr_level,
            )
            super().__init__(handle, jid, name, reader, nowait, (None, None))

        def get_output(self) -> tuple[str | None, str | None]:
            """The next ``(stream, data)``; ``(None, None)`` at the end."""
            result: tuple[str | None, str | None] = self.get()
            self.reset()
            return result

    class JobOutputWatchLines(base):  # type: ignore[misc]
        """A job's output lines as a Flux future (output_watch_lines_async)."""

        def __init__(
            self,
            flux_handle: Any,
            jobid: Any,
            labelio: bool = False,
            log_stderr_level: int = LOG_TRACE,
            nowait: bool = False,
            keepends: bool = False,
        ) -> None:
            handle, jid, name = _async_job(flux_handle, jobid)
            reader = _reader(
                _Named(name),
                nowait,
                labelio=labelio,
                log_stderr_level=log_stderr_level,
                lines=True,
                keepends=keepends,
            )
            super().__init__(handle, jid, name, reader, nowait, (None, None))

        def getline(self) -> tuple[str | None, str | None]:
            """The next ``(stream, line)``, a whole line; ``(None, None)`` at the end."""
            result: tuple[str | None, str | None] = self.get()
            self.reset()
            return result

    for cls in (JobOutputEventWatch, JobOutputWatch, JobOutputWatchLines):
        cls.__module__ = __name__
        _CLASSES[cls.__name__] = cls
    return _CLASSES


def output_event_watch_async(
    flux_handle: Any, jobid: Any, labelio: bool = False, nowait: bool = False
) -> Any:
    """A JobOutputEventWatch future of the job's output events: call
    ``get_event()`` from its ``then`` callback (None at the end). A job
    that never started fulfills it with OSError EIO "job ID never
    started"; an unknown job with ENOENT (FileNotFoundError)."""
    return _future_classes()["JobOutputEventWatch"](flux_handle, jobid, labelio, nowait)


def output_watch_async(
    flux_handle: Any,
    jobid: Any,
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    nowait: bool = False,
) -> Any:
    """A JobOutputWatch future of the job's output: ``get_output()`` gives
    ``(stream, data)``, ``(None, None)`` at the end; errors as
    output_event_watch_async's."""
    return _future_classes()["JobOutputWatch"](
        flux_handle, jobid, labelio, log_stderr_level, nowait
    )


def output_watch_lines_async(
    flux_handle: Any,
    jobid: Any,
    labelio: bool = False,
    log_stderr_level: int = LOG_TRACE,
    nowait: bool = False,
    keepends: bool = False,
) -> Any:
    """A JobOutputWatchLines future of the job's output lines: ``getline()``
    gives ``(stream, line)``, each a whole line of one task, ``(None,
    None)`` at the end; errors as output_event_watch_async's."""
    return _future_classes()["JobOutputWatchLines"](
        flux_handle, jobid, labelio, log_stderr_level, nowait, keepends
    )
