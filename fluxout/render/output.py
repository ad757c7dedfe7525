"""cat/follow output: the job's bytes, with labels and messages around them.

Job bytes are never interpreted: they go to the binary streams as they
are, and colour touches only fluxout's own decorations (labels, shell log
lines, exceptions, messages), whose bytes are built once and cached.
"""

from __future__ import annotations

from collections.abc import Iterable

from fluxout.eventlog import Log, Redirect
from fluxout.lines import Line
from fluxout.render.sink import STDERR, STDOUT, Sink
from fluxout.render.styles import STYLES, paint, rank_style
from fluxout.render.terminal import Terminal

# attach's level names for shell log messages (RFC 5424 severities); the
# first three are all fatal to the shell. NOTICE (5) has no name.
LEVEL_LABELS = ("FATAL", "FATAL", "FATAL", "ERROR", " WARN", None, "DEBUG", "TRACE")

FD = {"stdout": STDOUT, "stderr": STDERR}


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
        parts.append(
            f": {rec.file}" + (f":{rec.line}" if rec.line and rec.line > 0 else "")
        )
    parts.append(f": {rec.message}")
    return "".join(parts)


def format_redirect(rec: Redirect) -> str:
    """attach's note that a stream went to a file instead of the KVS."""
    to = f" to {rec.path}" if rec.path is not None else ""
    return f"{rec.rank}: {rec.stream} redirected{to}"


class TextRenderer:
    """Writes job data and fluxout's decorations to a Terminal."""

    def __init__(
        self,
        terminal: Terminal,
        color_out: bool,
        color_err: bool,
        flush_each_batch: bool,
        prefix: str = "",
    ) -> None:
        self.terminal = terminal
        self.sink = Sink(terminal.stdout, terminal.stderr, terminal.shared)
        self.color = (color_out, color_err)
        self.flush_each_batch = flush_each_batch
        self.prefix = prefix  # e.g. the job, when several are shown at once
        self._labels: dict[tuple[int, str | int], bytes] = {}
        self._status_shown = False

    # -- job data -------------------------------------------------------

    def raw(self, stream: str, data: bytes) -> None:
        """Job bytes exactly as written (the undecorated default)."""
        self.sink.write(FD[stream], data)

    def label(self, fd: int, rank: str | int) -> bytes:
        """The ``R: `` label for a rank (or an idset string), cached."""
        key = (fd, rank)
        label = self._labels.get(key)
        if label is None:
            text = f"{self.prefix}{rank}: "
            if self.color[fd]:
                first = rank if isinstance(rank, int) else _first_rank(rank)
                text = paint(
                    text, rank_style(first, "stdout" if fd == 0 else "stderr"), True
                )
            label = self._labels[key] = text.encode()
        return label

    def event(self, stream: str, rank: str, data: bytes) -> None:
        """One data event with attach's ``-l`` label in front (``-u -l``)."""
        fd = FD[stream]
        self.sink.write(fd, self.label(fd, rank) + data)

    def lines(self, lines: Iterable[Line], zero: float | None = None) -> None:
        """Assembled lines, each labelled and ending in a newline."""
        label = self.label
        write = self.sink.write
        for line in lines:
            fd = 0 if line.stream == "stdout" else 1
            write(fd, label(fd, line.rank) + line.text + b"\n")

    # -- fluxout's own lines, all on stderr -------------------------------

    def note(self, text: str, style: str = "") -> None:
        self._clear_status()
        self.sink.write(STDERR, (paint(text, style, self.color[1]) + "\n").encode())

    def log(self, rec: Log, zero: float) -> None:
        style = "log"
        if rec.level <= 3:
            style = "log.error"
        elif rec.level == 4:
            style = "log.warning"
        self.note(self.prefix + format_log(rec, zero), STYLES[style])

    def redirect(self, rec: Redirect) -> None:
        self.note(self.prefix + format_redirect(rec), STYLES["redirect"])

    def exception(self, text: str) -> None:
        self.note(text, STYLES["exception"])

    def error(self, text: str) -> None:
        self.note(f"fluxout: {text}", STYLES["error"])

    def warning(self, text: str) -> None:
        self.note(f"fluxout: {text}", STYLES["warning"])

    def status(self, text: str) -> None:
        """A transient status line: only on a terminal, erased by any output."""
        if not self.terminal.stderr_tty:
            return
        self.sink.flush()
        line = paint(text, STYLES["status"], self.color[1])
        self.terminal.stderr.write(f"\r\x1b[K{line}".encode())
        self.terminal.stderr.flush()
        self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self.sink.flush()
            self.terminal.stderr.write(b"\r\x1b[K")
            self._status_shown = False

    def batch_done(self) -> None:
        if self.flush_each_batch:
            self.flush()

    def flush(self) -> None:
        self.sink.flush()

    def close(self) -> None:
        self._clear_status()
        self.sink.flush()


def _first_rank(idset: str) -> int:
    digits = ""
    for ch in idset:
        if ch.isdigit():
            digits += ch
        elif digits:
            break
    return int(digits) if digits else 0
