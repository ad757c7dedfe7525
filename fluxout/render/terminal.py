"""The terminal facts fluxout depends on, held in one object tests can fake."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO


def decide_color(when: str, env: Mapping[str, str], isatty: bool) -> bool:
    """Colour or not, for one stream: ``--color`` then NO_COLOR/FORCE_COLOR.

    ``auto`` colours a terminal only; NO_COLOR (any non-empty value) turns
    it off and FORCE_COLOR turns it on, as https://no-color.org and
    force-color.org ask. An explicit always/never wins over both.
    """
    if when == "always":
        return True
    if when == "never":
        return False
    if env.get("NO_COLOR"):
        return False
    if env.get("FORCE_COLOR"):
        return True
    return isatty and env.get("TERM") != "dumb"


def _isatty(stream: BinaryIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _same_file(a: BinaryIO, b: BinaryIO) -> bool:
    try:
        sa, sb = os.fstat(a.fileno()), os.fstat(b.fileno())
    except (AttributeError, ValueError, OSError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


@dataclass
class Terminal:
    """stdout/stderr as binary streams, plus what we know about them."""

    stdout: BinaryIO
    stderr: BinaryIO
    stdout_tty: bool
    stderr_tty: bool
    # stdout and stderr are one file (``>log 2>&1``, or one terminal): the
    # order of writes between them is then visible and must be kept.
    shared: bool
    env: Mapping[str, str] = field(default_factory=dict)
    # What ``-`` reads; None: the process's own stdin, when it is read.
    stdin: BinaryIO | None = None

    @classmethod
    def from_process(cls) -> Terminal:
        out, err = sys.stdout.buffer, sys.stderr.buffer
        return cls(out, err, _isatty(out), _isatty(err), _same_file(out, err), os.environ)

    def color(self, when: str) -> tuple[bool, bool]:
        """Whether to colour (stdout, stderr)."""
        return (
            decide_color(when, self.env, self.stdout_tty),
            decide_color(when, self.env, self.stderr_tty),
        )

    def columns(self) -> int:
        """The terminal's width (stderr's, for its status line): COLUMNS,
        else the terminal's own size, else 80 as attach assumes."""
        try:
            columns = int(self.env.get("COLUMNS", ""))
        except ValueError:
            columns = 0
        if columns <= 0:
            try:
                columns = os.get_terminal_size(self.stderr.fileno()).columns
            except (AttributeError, ValueError, OSError):
                columns = 0
        return columns if columns > 0 else 80

    def escapes(self) -> tuple[bool, bool]:
        """Whether fluxout's own words are written escaped on (stdout, stderr):
        on a terminal only, so a pipe gets the bytes attach would write."""
        return (self.stdout_tty, self.stderr_tty)
