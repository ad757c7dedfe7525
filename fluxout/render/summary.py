"""The end summary of many jobs on stderr: a rich table on a terminal,
plain lines in a pipe, one JSON object with --summary json."""

from __future__ import annotations

import io
from collections.abc import Callable

import orjson

from fluxout.render.output import TextRenderer
from fluxout.render.sink import STDERR
from fluxout.summary import RunSummary

__all__ = ["show_summary"]


def _table(summary: RunSummary, color: bool, width: int, own: Callable[[str], str]) -> str:
    from rich.console import Console
    from rich.table import Table

    counts = Table(title=f"{len(summary.outcomes)} jobs", title_justify="left", box=None)
    for result in summary.counts():
        counts.add_column(result, justify="right")
    counts.add_row(*(str(n) for n in summary.counts().values()))
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        width=max(width, 40),
        highlight=False,
        emoji=False,
        markup=False,
    )
    console.print(counts)
    failed = summary.failed()
    if failed:
        table = Table(box=None, header_style="bold")
        for column in ("job", "result", "exit", "first exception"):
            table.add_column(column, style="red" if column == "result" else None)
        for o in failed:
            # A job's name and its exception's note may hold control characters.
            table.add_row(own(o.job), o.result, str(o.status), own(o.exception))
        console.print(table)
    return buf.getvalue()


def show_summary(summary: RunSummary, out: TextRenderer, as_json: bool = False) -> None:
    if as_json:
        out.sink.write(STDERR, orjson.dumps(summary.as_json()) + b"\n")
    elif out.terminal.stderr_tty:
        text = _table(summary, out.color[1], out.terminal.columns(), lambda s: out.own(STDERR, s))
        out.sink.write(STDERR, text.encode("utf-8", "replace"))
    else:
        for line in summary.lines():
            out.note(line)
    out.sink.flush_stderr()
