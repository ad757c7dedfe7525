"""--progress: a bar of the jobs done, at the bottom of stderr's terminal.

As ``flux watch --progress`` shows it: the counts on the left, a bar, the
percentage done and the elapsed time (or, with --jps, the jobs done per
second) on the right. It is drawn by hand (rich's Progress owns the
screen and cannot have raw job bytes written around it), in the run's one
bottom line, which job output erases and prints above (render/bottom.py).

The core calls ``start(total)``, ``job_started(name)``, ``job_done(name,
status)`` where it starts and ends jobs, ``redraw()`` while it waits, and
``close()`` at the end, which leaves the final counts as a line of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fluxout.render.bottom import BottomLine
from fluxout.render.escape import own_bytes
from fluxout.render.styles import STYLES, paint

# flux watch's bar: eighths of a cell.
BAR = " ▏▎▍▌▋▊▉█"
# The bar is at most this wide; the rest of the terminal is left alone.
BAR_WIDTH = 40

# The clock the elapsed time is read from (tests put a fake one here).
clock = time.monotonic


def bar_cells(fraction: float, width: int) -> str:
    """``width`` cells filled to ``fraction``, in eighths, as flux watch's."""
    fraction = min(max(fraction, 0.0), 1.0)
    eighths = int(fraction * width * 8)
    full, part = divmod(eighths, 8)
    cells = BAR[-1] * full + (BAR[part] if part and full < width else "")
    return cells + " " * (width - len(cells))


def elapsed(seconds: float) -> str:
    """H:MM:SS, as flux watch's timedelta."""
    s = max(0, round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class ProgressBar:
    """Jobs done of the total, and failed, drawn in a BottomLine."""

    def __init__(
        self, bottom: BottomLine, columns: Callable[[], int], jps: bool, color: bool
    ) -> None:
        self.bottom = bottom
        self.columns = columns  # the terminal's width, read at each draw (it may be resized)
        self.jps = jps
        self.color = color
        self.total = 0
        self.started = 0
        self.done = 0
        self.failed = 0
        self._t0 = clock()
        self._open = False

    def start(self, total: int) -> None:
        """``total`` jobs are to be shown; the clock starts now."""
        self.total = total
        self._t0 = clock()
        self._open = True
        self.bottom.bar = self.line
        self.bottom.redraw(force=True)

    def job_started(self, name: str) -> None:
        """A job is being read (the bar counts it once it is done); one
        that follow --new found later adds to the total."""
        self.started += 1
        self.total = max(self.total, self.started)
        self.bottom.redraw()

    def job_done(self, name: str, status: int) -> None:
        """A job ended with ``status`` (its exit status: not 0 is failed)."""
        self.done += 1
        if status != 0:
            self.failed += 1
        self.bottom.redraw()

    def redraw(self) -> None:
        """While waiting: the clock moves (drawn at most 10 times a second)."""
        self.bottom.redraw()

    def close(self) -> None:
        """Erase the bar; its final state stays, as a line of its own."""
        if not self._open:
            return
        self._open = False
        self.bottom.close(self.line())

    def text(self) -> str:
        """The bar's line, uncoloured."""
        counts = f"{self.done}/{self.total} done, {self.failed} failed "
        percent = 100 * self.done / self.total if self.total else 100.0
        took = clock() - self._t0
        if self.jps:
            right = f" {percent:5.1f}% {self.done / took if took > 0 else 0.0:5.1f} job/s"
        else:
            right = f" {percent:5.1f}% {elapsed(took)}"
        # What fits: the line stays short of the last column (no wrap).
        columns = self.columns()
        room = columns - 1 - len(counts) - len(right) - 2
        if room < 4:
            text = (counts.rstrip() + right)[: columns - 1]
        else:
            fraction = self.done / self.total if self.total else 1.0
            text = f"{counts}│{bar_cells(fraction, min(BAR_WIDTH, room))}│{right}"
        return text

    def line(self) -> bytes:
        text = self.text()
        if self.failed and self.color:
            # Red is for errors: the failed count, once there is one.
            failed = f"{self.failed} failed"
            head, _, tail = text.partition(failed)
            text = head + paint(failed, STYLES["error"], True) + tail
        return own_bytes(text)


class NoProgress:
    """No bar (no --progress, or stderr is no terminal): the same calls, doing nothing."""

    def start(self, total: int) -> None:
        pass

    def job_started(self, name: str) -> None:
        pass

    def job_done(self, name: str, status: int) -> None:
        pass

    def redraw(self) -> None:
        pass

    def close(self) -> None:
        pass
