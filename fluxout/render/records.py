"""Record listings: ``events`` and ``lines``, human or JSON Lines.

JSON Lines schema 1 (documented in the README):

- events: the RFC 18 entry (``timestamp``, ``name``, ``context``) plus
  ``eventlog`` (``main``, ``exec`` or ``output``) and ``job``.
- lines: ``job``, ``rank``, ``stream``, ``line`` (text without its newline),
  ``eol`` (false only for a last line that had no newline) and
  ``timestamp`` (when the line's first byte was written); a line that is
  not UTF-8 has its bytes in ``line`` as base64 and ``"encoding": "base64"``,
  as RFC 24 does for data.
"""

from __future__ import annotations

import base64
import json
import string
import sys
from collections.abc import Iterable

import orjson

from fluxout.eventlog import Event
from fluxout.lines import Line
from fluxout.render.escape import escape_json, own_bytes
from fluxout.render.output import Output, TextRenderer
from fluxout.render.sink import STDOUT
from fluxout.render.styles import STYLES, paint, rank_style

TEMPLATE_FIELDS = ("job", "rank", "host", "stream", "time", "timestamp", "line", "eol")


class TemplateError(ValueError):
    """A --format template with an unknown field or bad braces."""


# A value of each field's type, to check a format spec up front.
_SAMPLES: dict[str, object] = {
    "job": "",
    "host": "",
    "rank": 0,
    "stream": "",
    "time": 0.0,
    "timestamp": 0.0,
    "line": "",
    "eol": "",
}

Template = list[tuple[str | None, str, bytes]]


def compile_template(template: str) -> Template:
    """``"{rank:>4}: {line}\n"`` -> [(field or None, spec, literal bytes), ...].

    Only the template is parsed: job data is substituted as bytes, never
    formatted (unless a spec asks, as ``{line:>40}``), so braces or % in the
    data mean nothing. A spec is Python's, as ``flux jobs --format`` takes
    it. ``\n`` and ``\t`` in the template are newline and tab; a template
    that does not end in a newline gets one.
    """
    text = template.replace("\\n", "\n").replace("\\t", "\t")
    if not text.endswith("\n"):
        text += "\n"
    parts: Template = []
    try:
        for literal, name, spec, conv in string.Formatter().parse(text):
            if literal:
                parts.append((None, "", literal.encode()))
            if name is None:
                continue
            if name not in TEMPLATE_FIELDS or conv:
                raise TemplateError(
                    f"unknown field {{{name}}} in --format (fields: "
                    + ", ".join(TEMPLATE_FIELDS)
                    + ")"
                )
            spec = spec or ""
            try:
                format(_SAMPLES[name], spec)
            except ValueError as exc:
                raise TemplateError(f"bad spec {{{name}:{spec}}} in --format: {exc}") from None
            parts.append((name, spec, b""))
    except ValueError as exc:
        if isinstance(exc, TemplateError):
            raise
        raise TemplateError(f"invalid --format template: {exc}") from None
    return parts


def _spec(name: str, spec: str, fields: dict[str, bytes], line: Line, zero: float | None) -> bytes:
    """A field through its format spec: numbers as numbers, the rest as text
    (a line's bytes kept as they are, via surrogateescape)."""
    value: object
    if name == "rank":
        value = line.rank
    elif name == "time":
        value = line.timestamp - (zero or 0.0)
    elif name == "timestamp":
        value = line.timestamp
    else:
        value = fields[name].decode("utf-8", "surrogateescape")
    return format(value, spec).encode("utf-8", "surrogateescape")


def names_host(template: str | None) -> bool:
    """Whether a --format template shows each line's host (which needs the job's R)."""
    if template is None:
        return False
    try:
        return any(name == "host" for name, _, _ in compile_template(template))
    except TemplateError:
        return False


def line_record(job: str, line: Line) -> dict[str, object]:
    record: dict[str, object] = {
        "job": job,
        "rank": line.rank,
        "stream": line.stream,
        "line": "",
        "eol": line.eol,
        "timestamp": line.timestamp,
    }
    try:
        record["line"] = line.text.decode()
    except UnicodeDecodeError:
        record["line"] = base64.b64encode(line.text).decode("ascii")
        record["encoding"] = "base64"
    return record


class RecordRenderer(TextRenderer):
    """A listing of one job's records, human or JSON Lines, on stdout."""

    def __init__(self, output: Output, job: str, json: bool) -> None:
        super().__init__(output)
        self.job = job
        self.json = json


class LinesRenderer(RecordRenderer):
    """``lines``: one record per assembled line, all on stdout."""

    def __init__(
        self,
        output: Output,
        job: str,
        json: bool,
        template: str | None = None,
        timestamps: str | None = None,
    ) -> None:
        super().__init__(output, job, json)
        self.template = compile_template(template) if template is not None else None
        self.timestamps = timestamps  # the human listing's time column: abs, rel, delta

    def json_job(self) -> str | None:
        return self.job if self.json and self.template is None else None

    def _host(self, rank: int) -> bytes:
        """{host}: the task's host, once the job's R and taskmap gave it."""
        hosts = self.hosts
        host = hosts.host(rank) if hosts is not None else None
        return own_bytes(self.own(STDOUT, host)) if host is not None else b""

    def line_prefix(self, fd: int, rank: int) -> bytes:
        """--format: the template's text before ``{line}`` for a task's
        whole lines (the labelled lane; the plan takes it only for a
        template that ends in ``{line}`` and names no time)."""
        assert self.template is not None
        stream = "stdout" if fd == 0 else "stderr"
        line = Line(0.0, stream, rank, b"", True)
        fields = {
            "job": own_bytes(self.own(STDOUT, self.job)),
            "rank": str(rank).encode(),
            "stream": stream.encode(),
            "eol": b"true",
        }
        parts = []
        for k, spec, p in self.template:
            if k == "line":
                break
            parts.append(
                p if k is None else fields[k] if not spec else _spec(k, spec, fields, line, 0.0)
            )
        return b"".join(parts)

    def raw_many(self, fd: int, chunks: list[bytes]) -> None:
        """The lane's lines: every stream's on stdout, as all of lines' records."""
        self.sink.write_many(STDOUT, chunks, sum(map(len, chunks)))

    def lines(self, lines: Iterable[Line], zero: float | None = None) -> None:
        write = self.sink.write
        if self.template is not None:
            job_bytes = own_bytes(self.own(STDOUT, self.job))
            host = self._host
            for line in lines:
                fields = {
                    "job": job_bytes,
                    "rank": str(line.rank).encode(),
                    "host": host(line.rank),
                    "stream": line.stream.encode(),
                    "time": f"{line.timestamp - (zero or 0.0):.3f}".encode(),
                    "timestamp": f"{line.timestamp:.6f}".encode(),
                    "line": line.text,
                    "eol": b"true" if line.eol else b"false",
                }
                write(
                    STDOUT,
                    b"".join(
                        p
                        if k is None
                        else fields[k]
                        if not spec
                        else _spec(k, spec, fields, line, zero)
                        for k, spec, p in self.template
                    ),
                )
            return
        if self.json:
            dumps = orjson.dumps
            job = self.job
            for line in lines:
                write(STDOUT, dumps(line_record(job, line)) + b"\n")
            return
        color = self.color[0]
        for line in lines:
            head = (
                paint(self._when(line.timestamp, zero), STYLES["time"], color)
                + " "
                + paint(f"{line.rank:>3}", rank_style(line.rank, line.stream), color)
                + " "
                + paint(
                    f"{line.stream:<6}",
                    "bold" if line.stream == "stderr" else "",
                    color,
                )
                + " "
            )
            write(STDOUT, head.encode() + line.text + b"\n")

    def _when(self, ts: float, zero: float | None) -> str:
        """The time column: seconds since the job started (rel, the
        default), the local date and time (abs), or since the line before
        (delta)."""
        if self.timestamps == "abs":
            return self._abs_time(ts)
        if self.timestamps == "delta":
            last = self.last_time if self.last_time is not None else ts
            self.last_time = ts
            return f"{f'+{ts - last:.3f}':>10}s"
        return f"{ts - zero if zero is not None else ts:10.3f}s"


def dump_json(value: object) -> bytes:
    """orjson.dumps, or the stdlib's for what orjson cannot write: it reads
    JSON nested 1024 deep but writes only 254 levels."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(max(limit, 10_000))
        try:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        finally:
            sys.setrecursionlimit(limit)


class EventsRenderer(RecordRenderer):
    """``events``: eventlog entries as attach ``--show-events`` shows them, or JSON."""

    def entry(self, eventlog: str, event: Event, zero: float) -> None:
        if self.json:
            record = {
                "timestamp": event.timestamp,
                "name": event.name,
                "context": event.context,
                "eventlog": eventlog,
                "job": self.job,
            }
            self.sink.write(STDOUT, dump_json(record) + b"\n")
            return
        color = self.color[0]
        context = dump_json(event.context).decode() if event.context else ""
        name = event.name
        if self.escape[STDOUT]:
            # The context stays JSON (orjson already escaped C0 in it).
            name, context = self.own(STDOUT, name), escape_json(context)
        style = "bold red" if event.name == "exception" else "bold"
        text = (
            paint(f"{event.timestamp - zero:.3f}s:", STYLES["time"], color)
            + " "
            + paint(f"{eventlog}.{name}", style, color)
            + (" " + context if context else "")
        )
        self.sink.write(STDOUT, (text + "\n").encode())
