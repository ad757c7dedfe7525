"""``fluxout stats``: one row per task and stream, as a table or JSON Lines.

JSON Lines (one object per row, as ``events --json`` and ``lines --json``
write one per record, so that ``jq`` and ``grep`` take it a row at a
time and several jobs simply follow each other), schema 1:

``job``, ``rank``, ``stream``, ``lines`` (newlines, plus a last line
without one), ``bytes``, ``first`` and ``last`` (seconds since the job's
start; null when the task wrote nothing), ``first_timestamp`` and
``last_timestamp`` (the same, absolute), ``eof``, ``redirect`` (the file
the stream went to, or null), ``exit`` (``{"code", "signal", "from"}``,
``from`` being ``task-exit`` or ``job``; null when not known), ``host``
(null until a host map is known) and ``activity``: ``{"start", "end",
"bytes"}``, the bytes written in each of BUCKETS equal parts of the
job's output time span (absolute start and end; the bytes of a task in
one read batch are spread over its events evenly).

The table is made with rich on a terminal, or wherever there is colour
(colour per rank, a red exit that is not 0), and plain, with the same
columns, in a pipe.
"""

from __future__ import annotations

import io
from typing import Any

import orjson

from fluxout.render.escape import escape_controls, own_bytes
from fluxout.render.output import Output, TextRenderer
from fluxout.render.sink import STDOUT
from fluxout.render.styles import rank_style
from fluxout.stats import JobResult, StreamStats

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(counts: list[int]) -> str:
    """One block per bucket, scaled to the row's busiest one; a bucket with
    nothing written is a space, so a task that stopped early ends in blanks."""
    top = max(counts, default=0)
    if top <= 0:
        return " " * len(counts)
    last = len(SPARKS) - 1
    return "".join(
        SPARKS[min(last, max(0, -(-n * len(SPARKS) // top) - 1))] if n > 0 else " " for n in counts
    )


def _seconds(ts: float | None, start: float | None) -> str:
    if ts is None or start is None:
        return "-"
    return f"{ts - start:.3f}s"


def _relative(ts: float | None, start: float | None) -> float | None:
    if ts is None or start is None:
        return None
    return round(ts - start, 6)


def row_record(result: JobResult, row: StreamStats) -> dict[str, Any]:
    """One row as its JSON object."""
    span = result.span
    chars = row.activity(*span, result.grid) if span is not None else []
    return {
        "job": result.job,
        "rank": row.rank,
        "stream": row.stream,
        "lines": row.lines,
        "bytes": row.bytes,
        "first": _relative(row.first, result.start),
        "last": _relative(row.last, result.start),
        "first_timestamp": row.first,
        "last_timestamp": row.last,
        "eof": row.eof,
        "redirect": row.redirect,
        "exit": row.exit.as_json() if row.exit is not None else None,
        "host": row.host,
        "activity": {
            "start": span[0] if span else None,
            "end": span[1] if span else None,
            "bytes": chars,
        },
    }


class StatsRenderer(TextRenderer):
    """Writes the rows of each job: JSON at once, the table at the end."""

    def __init__(self, output: Output, json: bool, several: bool) -> None:
        super().__init__(output)
        self.json = json
        self.several = several
        self.results: list[JobResult] = []

    def job(self, result: JobResult) -> None:
        if not self.json:
            self.results.append(result)
            return
        for row in result.rows:
            self.sink.write(
                STDOUT, orjson.dumps(row_record(result, row), option=orjson.OPT_APPEND_NEWLINE)
            )
        self.batch_done()

    def finish(self) -> None:
        """The table of every job read (nothing with --json)."""
        if self.json or not any(result.rows for result in self.results):
            return
        self.sink.write(STDOUT, self._table())
        self.flush()

    def _cells(self) -> tuple[list[str], list[list[tuple[str, str]]]]:
        """The table's header, and its rows of (text, style) cells."""
        tty = self.terminal.stdout_tty
        color = self.color[0]
        header = ["JOB"] if self.several else []
        header += ["RANK", "STREAM", "LINES", "BYTES", "FIRST", "LAST", "EXIT", "HOST", "OUTPUT"]
        rows: list[list[tuple[str, str]]] = []
        for result in self.results:
            name = escape_controls(result.short) if tty else result.short
            span = result.span
            for row in result.rows:
                style = rank_style(row.rank, row.stream) if color else ""
                failed = row.exit is not None and (row.exit.signal is not None or row.exit.code)
                exit_text = row.exit.describe() if row.exit is not None else "-"
                if row.redirect is not None:
                    spark = f"redirected to {row.redirect}"
                    spark = escape_controls(spark) if tty else spark
                else:
                    counts = row.activity(*span, result.grid) if span is not None else []
                    spark = f"|{sparkline(counts)}|" if counts else "||"
                cells = [
                    (str(row.rank), style),
                    (row.stream, ""),
                    (str(row.lines), ""),
                    (str(row.bytes), ""),
                    (_seconds(row.first, result.start), ""),
                    (_seconds(row.last, result.start), ""),
                    (exit_text, "red" if failed and color else ""),
                    (row.host if row.host is not None else "-", ""),
                    (spark, style),
                ]
                rows.append(([(name, "")] if self.several else []) + cells)
        return header, rows

    def _table(self) -> bytes:
        header, rows = self._cells()
        tty = self.terminal.stdout_tty
        if not tty and not self.color[0]:
            return own_bytes(_plain(header, rows))
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        color = self.color[0]
        table = Table(
            box=_box(), show_edge=False, pad_edge=False, header_style="bold" if color else ""
        )
        for name in header:
            table.add_column(name, justify="right" if name in RIGHT else "left", no_wrap=True)
        for cells in rows:
            table.add_row(*(Text(text, style=style) for text, style in cells))
        buf = io.StringIO()
        console = Console(
            file=buf,
            # In a pipe (--color always): as wide as the rows, never wrapped.
            width=self.terminal.columns() if tty else 1 << 12,
            color_system="standard" if color else None,
            force_terminal=color,
            markup=False,
            highlight=False,
            emoji=False,
            soft_wrap=False,
        )
        console.print(table)
        text = "\n".join(line.rstrip() for line in buf.getvalue().splitlines())
        return own_bytes(text + "\n")


# Columns of numbers: aligned right.
RIGHT = ("RANK", "LINES", "BYTES", "FIRST", "LAST")


def _plain(header: list[str], rows: list[list[tuple[str, str]]]) -> str:
    """The table in a pipe: columns two spaces apart, no colour, no rich
    (its import alone would cost more than counting a big job's lines)."""
    table = [header, *([text for text, _ in cells] for cells in rows)]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    out = []
    for row in table:
        cells = [
            cell.rjust(width) if name in RIGHT else cell.ljust(width)
            for cell, width, name in zip(row, widths, header, strict=True)
        ]
        out.append("  ".join(cells).rstrip() + "\n")
    return "".join(out)


def _box() -> Any:
    from rich import box

    return box.SIMPLE_HEAD
