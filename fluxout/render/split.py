"""--split DIR: each task's stdout and stderr to its own file, as srun --output=%t.

Files are ``DIR/<job>/<rank>.out`` and ``<rank>.err``, holding exactly the
bytes the task wrote. Handles are kept open, a bounded number at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

from fluxout.errors import FluxoutError
from fluxout.idset import IdSet
from fluxout.render.output import Output, TextRenderer

MAX_OPEN = 256
SUFFIX = {"stdout": "out", "stderr": "err"}


def safe_component(name: str) -> bool:
    """Whether name is one path component that stays where it is put."""
    return name not in ("", ".", "..") and "/" not in name and "\0" not in name


class SplitRenderer(TextRenderer):
    def __init__(self, output: Output, directory: Path) -> None:
        super().__init__(output)
        self.directory = directory
        self._open: dict[tuple[str, int], IO[Any]] = {}
        self._created: set[tuple[str, int]] = set()

    def _file(self, stream: str, rank: int) -> IO[Any]:
        key = (stream, rank)
        handle = self._open.get(key)
        if handle is None:
            if len(self._open) >= MAX_OPEN:
                self._close_all()
            # The first open of a file in this run truncates it; later
            # reopens (after the handle limit) append.
            mode = "ab" if key in self._created else "wb"
            path = self.directory / f"{rank}.{SUFFIX[stream]}"
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                handle = path.open(mode)
                self._open[key] = handle
            except OSError as exc:
                raise FluxoutError(str(path), f"cannot write: {exc.strerror}") from None
            self._created.add(key)
        return handle

    def split(self, stream: str, ranks: IdSet, data: bytes) -> None:
        for rank in ranks:
            self._file(stream, rank).write(data)

    def raw(self, stream: str, data: bytes) -> None:  # not used in split mode
        raise AssertionError("raw output in --split mode")

    def _close_all(self) -> None:
        for handle in self._open.values():
            handle.close()
        self._open.clear()

    def batch_done(self) -> None:
        if self.flush_each_batch:
            for handle in self._open.values():
                handle.flush()
        super().batch_done()

    def close(self) -> None:
        self._close_all()
        if self._created:
            self.note(
                f"fluxout: wrote {len(self._created)} files to {self.directory}/",
                "",
            )
        super().close()
