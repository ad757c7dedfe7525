"""cat/follow output: the job's bytes, with labels and messages around them.

Job bytes are never interpreted: they go to the binary streams as they
are, and colour touches only fluxout's own decorations (labels, shell log
lines, exceptions, messages), whose bytes are built once and cached.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from fluxout.eventlog import Log, Redirect
from fluxout.hosts import HostMap
from fluxout.idset import IdSet, IdsetError, parse_rank
from fluxout.lines import Line
from fluxout.render.escape import escape_controls, escape_json, own_bytes
from fluxout.render.sink import STDERR, STDOUT, Sink
from fluxout.render.styles import STYLES, ansi_codes, paint, rank_style
from fluxout.render.terminal import Terminal

# attach's level names for shell log messages (RFC 5424 severities); the
# first three are all fatal to the shell. NOTICE (5) has no name.
LEVEL_LABELS = ("FATAL", "FATAL", "FATAL", "ERROR", " WARN", None, "DEBUG", "TRACE")

FD = {"stdout": STDOUT, "stderr": STDERR}

# Lines at least this long are written in pieces rather than concatenated.
HUGE_LINE = 1 << 20


def level_label(level: int) -> str | None:
    if 0 <= level < len(LEVEL_LABELS):
        return LEVEL_LABELS[level]
    return f"LEVEL{level}"


def format_log(rec: Log, zero: float, verbose: bool = False) -> str:
    """A shell log line as ``flux job attach`` prints it (no newline)."""
    parts = [f"{rec.timestamp - zero:.3f}s: flux-shell"]
    if rec.rank is not None and rec.rank >= 0:
        parts.append(f"[{rec.rank}]")
    label = level_label(rec.level)
    if label:
        parts.append(f": {label}")
    if rec.component:
        parts.append(f": {rec.component}")
    if verbose and rec.file:
        parts.append(f": {rec.file}" + (f":{rec.line}" if rec.line and rec.line > 0 else ""))
    parts.append(f": {rec.message}")
    return "".join(parts)


def format_redirect(rec: Redirect) -> str:
    """attach's note that a stream went to a file instead of the KVS."""
    to = f" to {rec.path}" if rec.path is not None else ""
    return f"{rec.rank}: {rec.stream} redirected{to}"


@dataclass
class LineFormat:
    """How each line is decorated: the decision made once, up front."""

    label: bool = False
    timestamps: str | None = None  # "abs", "rel" or "delta"
    prefix: str = ""  # the job, when several are shown at once
    pad: bool = False  # right-align labels to the widest rank (terminal only)
    # What a label names: the task's "rank" (3: ), its "host" (node12: ) or
    # both ("host-rank", node12[3]: ); host labels take their colour from
    # the host.
    label_by: str = "rank"
    highlight: list[re.Pattern[bytes]] = field(default_factory=list)

    @property
    def decorated(self) -> bool:
        return bool(self.label or self.timestamps or self.prefix)


@dataclass
class Output:
    """Where and how a run writes, shared by all its renderers."""

    terminal: Terminal
    sink: Sink
    color: tuple[bool, bool]  # colour (stdout, stderr)
    flush_each_batch: bool  # on a terminal, and when following
    # Show control characters in fluxout's own words escaped (stdout, stderr).
    escape: tuple[bool, bool] = (False, False)


class TextRenderer:
    """Writes job data and fluxout's decorations to a Terminal."""

    def __init__(self, output: Output, fmt: LineFormat | None = None, job_style: str = "") -> None:
        self.terminal = output.terminal
        self.sink = output.sink
        self.color = output.color
        self.flush_each_batch = output.flush_each_batch
        self.escape = output.escape
        self.fmt = fmt if fmt is not None else LineFormat()
        self.prefix = self.fmt.prefix
        self.job_style = job_style
        self.width = 0  # label width when padding
        self.ntasks = 0
        self.hosts: HostMap | None = None  # each task's host, once known
        self._labels: dict[tuple[int, str | int], bytes] = {}
        # Ranks whose lines are labelled otherwise (a redirected file that
        # several tasks shared: its lines go under its lowest rank).
        self._label_as: dict[tuple[int, str | int], str] = {}
        self._prefixes: tuple[bytes, bytes] = (
            self._job_prefix(0),
            self._job_prefix(1),
        )
        # delta: the time of the last line shown (the fast lane's lines too).
        self.last_time: float | None = None
        self._second: tuple[int, str] = (-1, "")

    def own(self, fd: int, text: str) -> str:
        """fluxout's own text for a stream, escaped if that stream is a
        terminal; always before painting, so our colour codes stay codes."""
        return escape_controls(text) if self.escape[fd] else text

    def _job_prefix(self, fd: int) -> bytes:
        if not self.prefix:
            return b""
        # The job's name may be a path: a directory name can hold an ESC.
        return own_bytes(paint(self.own(fd, self.prefix), self.job_style, self.color[fd]))

    # -- job data -------------------------------------------------------

    def raw(self, stream: str, data: bytes) -> None:
        """Job bytes exactly as written (the undecorated default)."""
        self.sink.write(FD[stream], data)

    def raw_many(self, fd: int, chunks: list[bytes]) -> None:
        """Many pieces of job bytes (and cached labels) for one stream at once."""
        self.sink.write_many(fd, chunks, sum(map(len, chunks)))

    def line_prefix(self, fd: int, rank: int) -> bytes:
        """The bytes before each whole line of a task: the job's name and
        the task's label (the labelled fast lane, when the plan has it)."""
        return self._prefixes[fd] + self.label(fd, rank)

    def json_job(self) -> str | None:
        """The job each line record names, when lines are plain JSON records
        (the fast lane writes those); None here: lines are text."""
        return None

    def split(self, stream: str, ranks: IdSet, data: bytes) -> None:
        """The bytes one event gives each of ``ranks``: only --split and
        --coalesce keep them per task; elsewhere they go out as they are."""
        self.raw(stream, data)

    def end(self, stream: str, ranks: IdSet) -> None:
        """The stream of these tasks ended (--coalesce completes their last line)."""

    def set_tasks(self, ntasks: int) -> None:
        """The job's task count is known: pad labels to its widest rank."""
        self.ntasks = ntasks
        if self.fmt.pad and ntasks > 0:
            width = self._label_width()
            if width != self.width:
                self.width = width
                self._labels.clear()

    def set_hosts(self, hosts: HostMap) -> None:
        """Each task's host is known: labels by host are made from now on."""
        self.hosts = hosts
        if self.fmt.pad:
            self.width = self._label_width()
        self._labels.clear()

    def _label_width(self) -> int:
        """The widest label name (padded labels): of a rank, or of a host."""
        hosts = self.hosts
        if hosts is None or self.fmt.label_by == "rank":
            return len(str(self.ntasks - 1)) if self.ntasks > 0 else 0
        return max((len(self._label_name(rank)) for rank in range(len(hosts.nodes))), default=0)

    def _label_name(self, rank: str | int) -> str:
        """What a label says of a task (or of an event's idset string)."""
        hosts = self.hosts
        by = self.fmt.label_by
        if hosts is None or by == "rank":
            return str(rank)
        if isinstance(rank, int):
            host = hosts.host(rank)
        else:
            host = hosts.hostlist(parse_rank(rank)) if _is_idset(rank) else None
        if host is None:
            return str(rank)  # a task the taskmap does not hold
        return host if by == "host" else f"{host}[{str(rank).strip('[]')}]"

    def label(self, fd: int, rank: str | int) -> bytes:
        """The ``R: `` label for a rank (or an idset string), cached; by
        host, ``node12: `` or ``node12[3]: ``, coloured by the host."""
        key = (fd, rank)
        label = self._labels.get(key)
        if label is None:
            # A redirected file of several ranks is labelled by their idset.
            rank = self._label_as.get(key, rank)
            name = self._label_name(rank)
            text = f"{name:>{self.width}}: " if self.width else f"{name}: "
            if isinstance(rank, str) or self.hosts is not None:
                # an event's idset, which may hold whitespace; a host's name
                text = self.own(fd, text)
            if self.color[fd]:
                first = rank if isinstance(rank, int) else _first_rank(rank)
                if self.hosts is not None and self.fmt.label_by != "rank":
                    node = self.hosts.node(first)
                    first = node if node is not None else first
                text = paint(text, rank_style(first, "stdout" if fd == 0 else "stderr"), True)
            label = self._labels[key] = text.encode()
        return label

    def label_as(self, stream: str, rank: int, name: str) -> None:
        """Label the lines of ``rank`` on ``stream`` as ``name`` (an idset)."""
        fd = FD[stream]
        self._label_as[(fd, rank)] = name
        self._labels.pop((fd, rank), None)

    def event(self, stream: str, rank: str, data: bytes) -> None:
        """One data event with attach's ``-l`` label in front (``-u -l``)."""
        fd = FD[stream]
        self.sink.write(fd, self._prefixes[fd] + self.label(fd, rank) + data)

    def _time(self, fd: int, ts: float, zero: float | None) -> bytes:
        mode = self.fmt.timestamps
        if mode == "abs":
            text = self._abs_time(ts) + " "
        elif mode == "delta":
            last = self.last_time if self.last_time is not None else ts
            text = f"+{ts - last:.3f}s "
            self.last_time = ts
        else:
            text = f"{ts - (zero if zero is not None else ts):9.3f}s "
        return paint(text, STYLES["time"], self.color[fd]).encode()

    def _abs_time(self, ts: float) -> str:
        """ts as local date and time, to the millisecond (the number itself
        when it is no time the C library can show, as 1e300 or -1e18)."""
        whole = int(ts)
        if self._second[0] != whole:
            try:
                shown = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(whole))
            except (OverflowError, OSError, ValueError):
                return f"{ts:.3f}"
            self._second = (whole, shown)
        return f"{self._second[1]}.{int((ts - whole) * 1000):03d}"

    def _highlight(self, fd: int, text: bytes) -> bytes:
        # Colour the matches on a terminal only: in a pipe the bytes stay exact.
        if not self.color[fd]:
            return text
        start, end = (s.encode() for s in ansi_codes(STYLES["highlight"]))
        for pattern in self.fmt.highlight:
            text = pattern.sub(lambda m: start + m.group(0) + end, text)
        return text

    def lines(self, lines: Iterable[Line], zero: float | None = None) -> None:
        """Assembled lines, each decorated; decorated lines always end in a newline."""
        fmt = self.fmt
        write = self.sink.write
        if not fmt.decorated and not fmt.highlight:
            for line in lines:
                fd = 0 if line.stream == "stdout" else 1
                write(fd, line.text + b"\n" if line.eol else line.text)
            return
        if fmt.label and not fmt.timestamps and not fmt.highlight:
            # The hot labelled path: one cached label per (stream, rank).
            label = self.label
            prefixes = self._prefixes
            for line in lines:
                fd = 0 if line.stream == "stdout" else 1
                if len(line.text) < HUGE_LINE:
                    write(fd, prefixes[fd] + label(fd, line.rank) + line.text + b"\n")
                else:  # no extra copy of a huge line just to put a label on it
                    head = prefixes[fd] + label(fd, line.rank)
                    self.sink.write_many(fd, [head, line.text, b"\n"], len(line.text) + 1)
            return
        for line in lines:
            fd = 0 if line.stream == "stdout" else 1
            parts = [self._prefixes[fd]]
            if fmt.timestamps:
                parts.append(self._time(fd, line.timestamp, zero))
            if fmt.label:
                parts.append(self.label(fd, line.rank))
            parts.append(self._highlight(fd, line.text) if fmt.highlight else line.text)
            if line.eol or fmt.decorated:
                parts.append(b"\n")
            write(fd, b"".join(parts))

    # -- fluxout's own lines, all on stderr -------------------------------

    def note(self, text: str, style: str = "") -> None:
        # Every message quotes eventlog strings or paths: one escape here
        # covers logs, redirects, exceptions, errors, warnings, the summary.
        self._clear_status()
        text = self.own(STDERR, text)
        self.sink.write(STDERR, own_bytes(paint(text, style, self.color[1]) + "\n"))

    def log(self, rec: Log, zero: float, verbose: bool = False) -> None:
        style = "log"
        if rec.level <= 3:
            style = "log.error"
        elif rec.level == 4:
            style = "log.warning"
        self.note(self.prefix + format_log(rec, zero, verbose), STYLES[style])

    def job_event(self, head: str, context: str) -> None:
        """A main or exec eventlog event as attach -E / -X shows it: its
        time and name, then its JSON context (which stays JSON on a terminal)."""
        self._clear_status()
        text = self.own(STDERR, self.prefix + head)
        if context:
            text += " " + (escape_json(context) if self.escape[STDERR] else context)
        self.sink.write(STDERR, own_bytes(paint(text, STYLES["event"], self.color[1]) + "\n"))

    def exec_log(self, head: str, data: str) -> None:
        """Output of the job shell (or what ran in its place) from the exec
        eventlog, after attach's head ("" with -q), as it was: no newline
        added, but where the job's name is put before it (several jobs)."""
        self._clear_status()
        head = self.prefix + head
        if head:
            head = paint(self.own(STDERR, head), STYLES["log"], self.color[1])
        body = data.encode("utf-8", "surrogateescape")
        if self.prefix and not body.endswith(b"\n"):
            body += b"\n"  # decorated output is line by line
        self.sink.write(STDERR, own_bytes(head) + body)

    def redirect(self, rec: Redirect) -> None:
        self.note(self.prefix + format_redirect(rec), STYLES["redirect"])

    def exception(self, text: str) -> None:
        self.note(text, STYLES["exception"])

    def error(self, text: str) -> None:
        self.note(f"fluxout: {text}", STYLES["error"])
        self.sink.flush_stderr()  # seen as it happens, even in a pipe

    def warning(self, text: str) -> None:
        self.note(f"fluxout: {text}", STYLES["warning"])
        self.sink.flush_stderr()

    def status(self, text: str, clock: str = "") -> None:
        """A transient status line, erased by any output ("" erases it), as
        attach's: ``fluxout: TEXT``, and ``clock`` at the right edge of the
        terminal. The core decides when there is one (a terminal, or
        --show-status)."""
        if not text:
            self._clear_status()
            return
        self.sink.flush()
        line = self.own(STDERR, f"fluxout: {text}")
        if clock:
            width = self.terminal.columns() - 2 - len(clock)
            line = f"{line:<{width}} {clock}"
        line = paint(line, STYLES["status"], self.color[1])
        self.sink.bottom.show_status(own_bytes(line))

    def _clear_status(self) -> None:
        # The run's one bottom line: its sink erases it before any output.
        if self.sink.bottom.status is not None:
            self.sink.flush()
            self.sink.bottom.show_status(b"")

    def batch_done(self) -> None:
        if self.flush_each_batch:
            self.flush()

    def flush(self) -> None:
        self.sink.flush()

    def close(self) -> None:
        self._clear_status()
        self.sink.flush()


def _is_idset(text: str) -> bool:
    try:
        parse_rank(text)
    except IdsetError:
        return False
    return True


def _first_rank(idset: str) -> int:
    digits = ""
    for ch in idset:
        if ch.isdigit():
            digits += ch
        elif digits:
            break
    return int(digits) if digits else 0
