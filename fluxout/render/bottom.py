"""The one transient line at the bottom of stderr: a status line or the
progress bar, owned by one object for the whole run.

Every renderer of a run writes through one Sink, and the Sink tells this
line before it writes to the screen: the line is erased first
(``\\r\\x1b[K``), so job output and fluxout's messages print where it was,
above it, and never share a line with it. A status line stays erased (the
core sets it again when it has news, as attach does); the bar is drawn
again after the output, at most ``REDRAW_EVERY`` seconds apart, and only
while the cursor is at the start of a line (a job's partial line is not
the bar's to finish).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import BinaryIO

ERASE = b"\r\x1b[K"
# The bar is drawn again at most this often (output erases it at once).
REDRAW_EVERY = 0.1

# The clock the redraws are paced by (tests put a fake one here).
clock = time.monotonic


class BottomLine:
    """The bottom line of stderr's terminal, and where the screen's cursor is."""

    def __init__(self, stderr: BinaryIO, stdout_on_screen: bool) -> None:
        self.stderr = stderr
        # stdout's writes land on the same screen (both streams a terminal).
        self.stdout_on_screen = stdout_on_screen
        self.status: bytes | None = None  # a status line to show once
        self.bar: Callable[[], bytes] | None = None  # draws the progress bar
        self.shown: bytes | None = None  # what the bottom line holds now
        self.midline = False  # the cursor is after a partial line
        self._drawn_at = -REDRAW_EVERY

    def on_screen(self, fd: int) -> bool:
        return fd == 1 or self.stdout_on_screen

    def before_write(self, fd: int) -> None:
        """Output is about to go to stream ``fd``: make room for it."""
        if self.shown is not None and self.on_screen(fd):
            self._write(ERASE)
            self.shown = None
            self.status = None  # a status line is gone once output replaces it

    def wrote(self, fd: int, data: bytes) -> None:
        """Output went to stream ``fd``: where the cursor is now."""
        if data and self.on_screen(fd):
            self.midline = not data.endswith(b"\n")

    def show_status(self, line: bytes) -> None:
        """A status line (b"" erases it); the bar, when there is one, has the
        line, and the status is not shown beside it."""
        if not line:
            self.status = None
            if self.bar is None and self.shown is not None:
                self._write(ERASE)
                self.shown = None
            return
        self.status = line
        if self.bar is None and line != self.shown:
            self._write(ERASE + line)
            self.shown = line

    def redraw(self, force: bool = False) -> None:
        """Draw the bar again if it is not on the screen or has changed,
        no sooner than REDRAW_EVERY after the last time (unless ``force``)."""
        if self.bar is None or self.midline:
            return
        now = clock()
        if not force and now - self._drawn_at < REDRAW_EVERY:
            return
        line = self.bar()
        if line != self.shown:
            self._write(ERASE + line)
            self.shown = line
        self._drawn_at = now

    def close(self, last: bytes | None = None) -> None:
        """Erase the line; leave ``last`` in its place as a line of its own."""
        if self.shown is not None:
            self._write(ERASE)
            self.shown = None
        self.bar = None
        if last is not None:
            self._write((b"\n" if self.midline else b"") + last + b"\n")
            self.midline = False

    def _write(self, data: bytes) -> None:
        self.stderr.write(data)
        self.stderr.flush()
