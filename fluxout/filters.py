"""Line filters: --grep/--exclude, --since/--until, --head/--tail per task.

They work on assembled lines (never on events), so ``--head 3`` means the
first three lines each task wrote, whatever the shell's buffering did.
"""

from __future__ import annotations

import itertools
import math
import re
import sys
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fluxout.lines import Line

_DURATION = re.compile(r"(?P<num>\d+(?:\.\d*)?|\.\d+)(?P<unit>ms|s|m|h|d)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


class FilterError(ValueError):
    """A --since/--until or regex value that cannot be used."""


@dataclass(frozen=True)
class TimeBound:
    """A point in time: seconds after job start, or an absolute epoch time."""

    seconds: float
    absolute: bool
    text: str = field(default="", compare=False)  # as the user wrote it, for messages

    def __str__(self) -> str:
        if self.text:
            return self.text
        return f"@{self.seconds:g}" if self.absolute else f"{self.seconds:g}s"

    def resolve(self, start: float) -> float:
        return self.seconds if self.absolute else start + self.seconds


def parse_duration(text: str) -> float:
    """ "90", "1.5s", "2m", "1h30m", "250ms" -> seconds."""
    pos, total, spec = 0, 0.0, text.strip()
    if not spec:
        raise FilterError("empty duration")
    while pos < len(spec):
        m = _DURATION.match(spec, pos)
        if not m:
            raise FilterError(f"invalid duration {text!r} (e.g. 30s, 2m, 1h30m, 1.5)")
        total += float(m["num"]) * _UNITS[m["unit"]]
        pos = m.end()
    return total


def parse_time_bound(text: str) -> TimeBound:
    """A duration after job start ("10s", "2m") or an absolute time.

    Absolute times are ISO 8601 ("2026-11-25T10:00:00", local time unless
    an offset is given), a time of day today ("10:00:00"), or "@EPOCH".
    """
    spec = text.strip()
    if spec.startswith("@"):
        try:
            return TimeBound(float(spec[1:]), True, spec)
        except ValueError:
            raise FilterError(f"invalid epoch time {text!r}") from None
    try:
        return TimeBound(parse_duration(spec), False, spec)
    except FilterError:
        pass
    try:
        if re.fullmatch(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?", spec):
            day = datetime.now().strftime("%Y-%m-%d")
            return TimeBound(datetime.fromisoformat(f"{day}T{spec}").timestamp(), True, spec)
        return TimeBound(datetime.fromisoformat(spec).timestamp(), True, spec)
    except ValueError:
        raise FilterError(
            f"invalid time {text!r}: give a duration after job start (30s, 2m) "
            "or an absolute time (2026-11-25T10:00:00, 10:00:00, @EPOCH)"
        ) from None


def compile_regex(pattern: str) -> re.Pattern[bytes]:
    """A user's regex, matched against the raw bytes of each line."""
    try:
        return re.compile(pattern.encode("utf-8", "surrogateescape"))
    except re.error as exc:
        raise FilterError(f"invalid regular expression {pattern!r}: {exc}") from None


# What a regex is made of (re's parse tree) when it never matches a newline
# and looks at nothing outside its match but a word boundary: then it
# matches a line exactly where it matches that line inside text of many
# lines, which the fast lane searches at once.
_SAFE_CATEGORIES = {"CATEGORY_DIGIT", "CATEGORY_WORD", "CATEGORY_NOT_SPACE"}
_SAFE_AT = {"AT_BOUNDARY", "AT_NON_BOUNDARY"}
NEWLINE = 10


def line_local(pattern: re.Pattern[bytes]) -> bool:
    """Whether ``pattern`` can match no newline and is anchored to nothing
    (no ^, $, lookaround, backreference): so it matches a line alone
    exactly where it matches it among other lines."""
    if pattern.flags & re.DOTALL:
        return False
    try:
        from re import _parser  # type: ignore[attr-defined]

        return _local(_parser.parse(pattern.pattern, pattern.flags))
    except Exception:  # another Python's parser: search each line alone
        return False


def _local(items: Any) -> bool:
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            if arg == NEWLINE:
                return False
        elif name == "ANY":
            pass  # no DOTALL: never a newline
        elif name == "IN":
            if not all(_in_local(str(kind), value) for kind, value in arg):
                return False
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if not _local(arg[2]):
                return False
        elif name == "SUBPATTERN":
            if arg[1] & re.DOTALL or not _local(arg[3]):
                return False
        elif name == "ATOMIC_GROUP":
            if not _local(arg):
                return False
        elif name == "BRANCH":
            if not all(_local(branch) for branch in arg[1]):
                return False
        elif name == "AT":
            if str(arg) not in _SAFE_AT:
                return False
        else:  # NOT_LITERAL, lookaround, backreferences, ...
            return False
    return True


def _in_local(kind: str, value: Any) -> bool:
    if kind == "LITERAL":
        return bool(value != NEWLINE)
    if kind == "RANGE":
        return not value[0] <= NEWLINE <= value[1]
    if kind == "CATEGORY":
        return str(value) in _SAFE_CATEGORIES
    return False  # NEGATE and anything else


@dataclass
class LineFilter:
    """Which assembled lines to show; stateful for --head and --tail."""

    include: list[re.Pattern[bytes]] = field(default_factory=list)
    exclude: list[re.Pattern[bytes]] = field(default_factory=list)
    since: TimeBound | None = None
    until: TimeBound | None = None
    head: int | None = None
    tail: int | None = None
    start: float | None = None  # job start, for relative --since/--until

    def __post_init__(self) -> None:
        # A count past what any job writes means "all": deque takes no more.
        if self.head is not None:
            self.head = min(self.head, sys.maxsize)
        if self.tail is not None:
            self.tail = min(self.tail, sys.maxsize)
        self._counts: dict[tuple[str, int], int] = {}
        # --tail holds lines back until the history has been read; after
        # that (follow), new lines pass straight through, as tail -f does.
        # While holding, each line kept is numbered, so that the first lines
        # (--head) and the last ones (--tail) go out in the order they came.
        self._holding = self.tail is not None
        self._window = self.since is not None or self.until is not None
        self._patterns = bool(self.include or self.exclude)
        self.numbers = itertools.count(1)  # of the lines held, in the order they came
        self._first: list[tuple[int, Line]] = []
        self._tails: dict[tuple[str, int], deque[tuple[int, Line]]] = {}
        # The fast lane's last lines of each task: (number, time, text with
        # its newline), made Lines only if they are still held at release.
        self.lane_tails: dict[tuple[str, int], deque[tuple[int, float, str]]] = {}

    @property
    def active(self) -> bool:
        return bool(
            self.include
            or self.exclude
            or self.since
            or self.until
            or self.head is not None
            or self.tail is not None
        )

    @property
    def counts(self) -> dict[tuple[str, int], int]:
        """--head: the lines of each (stream, task) that passed the other
        filters so far (the fast lane counts its lines here too)."""
        return self._counts

    @property
    def holding(self) -> bool:
        """--tail holds lines back: the history is not read yet."""
        return self._holding

    def hold(self, key: tuple[str, int], first: bool, timestamp: float, text: str) -> None:
        """A line of the fast lane (one whole line, with its newline, as
        lane text) that passed the filters and was counted, while holding:
        kept as ``apply`` keeps a line, one of the first (--head) or of the
        last of its task."""
        seq = next(self.numbers)
        if first:
            self._first.append((seq, _lane_line(key, timestamp, text)))
        elif self.tail:
            held = self.lane_tails.get(key)
            if held is None:
                held = self.lane_tails[key] = deque(maxlen=self.tail)
            held.append((seq, timestamp, text))

    def window(self) -> tuple[float, float] | None:
        """--since/--until as the times a line must be within (either end
        open when not given); None while they are relative to a job start
        that is not known yet (each line's own time then: the careful path)."""
        if self.start is None and (
            (self.since is not None and not self.since.absolute)
            or (self.until is not None and not self.until.absolute)
        ):
            return None
        start = self.start if self.start is not None else 0.0
        low = self.since.resolve(start) if self.since is not None else -math.inf
        high = self.until.resolve(start) if self.until is not None else math.inf
        return low, high

    def _in_window(self, line: Line) -> bool:
        start = self.start if self.start is not None else line.timestamp
        if self.since is not None and line.timestamp < self.since.resolve(start):
            return False
        return not (self.until is not None and line.timestamp > self.until.resolve(start))

    def _matches(self, text: bytes) -> bool:
        if self.include and not any(p.search(text) for p in self.include):
            return False
        return not any(p.search(text) for p in self.exclude)

    def apply(self, lines: Iterable[Line]) -> list[Line]:
        """The lines to show now; with --tail, until the history is read,
        none: they are held for ``release``."""
        window, patterns, head = self._window, self._patterns, self.head
        out: list[Line] = []
        if head is None and not self._holding:  # grep, since/until: no count
            for line in lines:
                if window and not self._in_window(line):
                    continue
                if patterns and not self._matches(line.text):
                    continue
                out.append(line)
            return out
        counts = self._counts
        for line in lines:
            if window and not self._in_window(line):
                continue
            if patterns and not self._matches(line.text):
                continue
            # --head and --tail count the lines that passed the filters above,
            # per task and stream; a line in both windows is shown once.
            key = (line.stream, line.rank)
            seen = counts.get(key, 0)
            counts[key] = seen + 1
            first = head is not None and seen < head
            if self._holding:
                seq = next(self.numbers)
                if first:
                    self._first.append((seq, line))
                elif self.tail:
                    held = self._tails.get(key)
                    if held is None:
                        held = self._tails[key] = deque(maxlen=self.tail)
                    held.append((seq, line))
            elif first or head is None or self.tail is not None:
                out.append(line)  # after the history, --tail passes every new line
        return out

    def release(self) -> list[Line]:
        """The history has been read: hand out the held lines (the first
        ones and the last ones of each task) in the order they came."""
        if not self._holding:
            return []
        self._holding = False
        held = self._first
        for key, lines in self._tails.items():
            if key not in self.lane_tails:
                held.extend(lines)
        for key, texts in self.lane_tails.items():
            # A task's last lines, some from each path: the last of them all.
            both = [(seq, _lane_line(key, ts, text)) for seq, ts, text in texts]
            both.extend(self._tails.get(key, ()))
            both.sort(key=lambda pair: pair[0])
            held.extend(both[-self.tail :] if self.tail else [])
        self._first = []
        self._tails.clear()
        self.lane_tails.clear()
        held.sort(key=lambda pair: pair[0])
        return [line for _, line in held]


def _lane_line(key: tuple[str, int], timestamp: float, text: str) -> Line:
    """A line of the fast lane (lane text, its newline included) as a Line."""
    return Line(timestamp, key[0], key[1], text[:-1].encode(errors="surrogateescape"), True)


# -- windows that cannot hold a line (a warning, not an error) -----------------


def window_conflict(since: TimeBound | None, until: TimeBound | None) -> str | None:
    """Why no line can be in --since/--until, when that is known up front
    (both durations, or both absolute times); None otherwise."""
    if since is None or until is None or since.absolute != until.absolute:
        return None
    if since.seconds <= until.seconds:
        return None
    return f"--since {since} is after --until {until}: nothing can match"


def window_misses(
    since: TimeBound | None,
    until: TimeBound | None,
    start: float | None,
    first: float,
    last: float,
) -> str | None:
    """Why the window of --since/--until holds none of a job's lines, written
    from ``first`` to ``last``, when it lies wholly outside them (or
    --since is after --until once the job's ``start`` is known); None when
    it may hold some. What is known up front (window_conflict) is not said
    again."""
    if window_conflict(since, until) is not None:
        return None
    low = _resolve(since, start)
    high = _resolve(until, start)
    if low is not None and high is not None and low > high:
        return f"--since {since} is after --until {until}: nothing can match"
    if since is not None and low is not None and low > last:
        return f"--since {since} is after the job's last output ({_when(last, since, start)})"
    if until is not None and high is not None and high < first:
        return f"--until {until} is before the job's first output ({_when(first, until, start)})"
    return None


def _resolve(bound: TimeBound | None, start: float | None) -> float | None:
    if bound is None or (not bound.absolute and start is None):
        return None
    return bound.resolve(start if start is not None else 0.0)


def _when(ts: float, bound: TimeBound, start: float | None) -> str:
    """A time in the form the user gave the bound in: a local date and time,
    or seconds after the job's start."""
    if not bound.absolute and start is not None:
        return f"{ts - start:.3f}s after its start"
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))
    except (OverflowError, OSError, ValueError):
        return f"@{ts:.3f}"
