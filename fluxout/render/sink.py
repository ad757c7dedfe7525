"""Batched binary writes to stdout and stderr.

Job bytes are gathered in lists and written in large blocks.  When both
streams end up in one file or terminal, a switch from one stream to the
other first flushes the one written so far, so their order is kept; on a
terminal or when following, the caller also flushes after every batch.
"""

from __future__ import annotations

from typing import BinaryIO

from fluxout.errors import OutputWriteError
from fluxout.render.bottom import BottomLine

FLUSH_BYTES = 1 << 18

STDOUT = 0
STDERR = 1


class Sink:
    def __init__(
        self, stdout: BinaryIO, stderr: BinaryIO, shared: bool, stdout_on_screen: bool = False
    ) -> None:
        self.files = (stdout, stderr)
        self.shared = shared
        # The status line or progress bar below the output: told of each write.
        self.bottom = BottomLine(stderr, stdout_on_screen)
        self._bufs: tuple[list[bytes], list[bytes]] = ([], [])
        self._sizes = [0, 0]
        self._last = STDOUT

    def write(self, fd: int, data: bytes) -> None:
        if self.shared and fd != self._last:
            self._flush_one(self._last)
            self._last = fd
        self._bufs[fd].append(data)
        self._sizes[fd] += len(data)
        if self._sizes[fd] >= FLUSH_BYTES:
            self._flush_one(fd)

    def write_many(self, fd: int, chunks: list[bytes], size: int) -> None:
        if self.shared and fd != self._last:
            self._flush_one(self._last)
            self._last = fd
        self._bufs[fd].extend(chunks)
        self._sizes[fd] += size
        if self._sizes[fd] >= FLUSH_BYTES:
            self._flush_one(fd)

    def _flush_one(self, fd: int) -> None:
        buf = self._bufs[fd]
        try:
            if buf:
                data = b"".join(buf)
                buf.clear()
                self._sizes[fd] = 0
                self.bottom.before_write(fd)
                self.files[fd].write(data)
                self.bottom.wrote(fd, data)
            self.files[fd].flush()
        except BrokenPipeError:
            raise  # the reader went away: the CLI ends quietly
        except OSError as exc:
            raise OutputWriteError(
                "stdout" if fd == STDOUT else "stderr", exc.strerror or str(exc)
            ) from None

    def flush_stderr(self) -> None:
        """fluxout's own words go out at once; with both streams in one
        file, the stdout before them was flushed when stderr was written."""
        self._flush_one(STDERR)

    def flush(self) -> None:
        # The stream written last goes last, to keep the order where it shows.
        other = STDERR if self._last == STDOUT else STDOUT
        self._flush_one(other)
        self._flush_one(self._last)
        self.bottom.redraw()  # the bar goes below what was written
