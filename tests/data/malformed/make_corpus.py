"""Write the malformed-eventlog corpus: one directory per case.

Each case directory holds ``output.eventlog`` (the input) and what
``fluxout cat <case>/output.eventlog``, run from this directory, must give:
``expected.stdout``, ``expected.stderr`` (job stderr and fluxout's own
messages, in eventlog order) and ``expected.rc``.

The expectations are written here from the contract in DESIGN.md, not
captured from fluxout: every valid event is still shown, every bad line is
reported once as ``fluxout: <path>: output eventlog line N: <what>``, a lost
line makes the exit status 1, and a warning (nothing lost) leaves it 0.

Most inputs are the real ``hello`` fixture (4 tasks, 3 stdout lines and one
stderr line each) with a few lines broken, added or removed.  Cases too big
or too binary to commit (a 50 MB line, random bytes, a gzip file) are made
at test time by tests/test_malformed.py.

Run ``python tests/data/malformed/make_corpus.py`` to rewrite the corpus.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
HELLO = (FIXTURES / "hello" / "output.eventlog").read_bytes().split(b"\n")[:-1]
assert len(HELLO) == 25


def hello_effect(n: int) -> tuple[str, bytes] | None:
    """What hello's line n (1-based) shows: (stream, bytes), or None."""
    context = orjson.loads(HELLO[n - 1])["context"]
    if "data" not in context:
        return None
    return context["stream"], context["data"].encode()


def event(ts: float, name: object, context: object) -> bytes:
    return orjson.dumps({"timestamp": ts, "name": name, "context": context})


def data(ts: float, stream: str, rank: object, text: object, **extra: object) -> bytes:
    return event(ts, "data", {"stream": stream, "rank": rank, "data": text, **extra})


TS = 1795619483.0
HELLO_EFFECT_2 = ("stderr", b"rank 1: this line went to stderr\n")
ZERO = 1795619482.7688756  # hello's header: the zero of relative times


class Case:
    """One corpus directory, built line by line with what each line shows."""

    def __init__(self, name: str, doc: str) -> None:
        self.name = name
        self.doc = doc
        self.path = f"{name}/output.eventlog"
        self.lines: list[bytes] = []
        self.tail = b""  # a last line with no newline
        self.eol = b"\n"
        self.out: list[bytes] = []
        self.err: list[bytes] = []
        self.rc = 0

    @property
    def lineno(self) -> int:
        return len(self.lines)

    def hello(self, first: int = 1, last: int = 25, skip: tuple[int, ...] = ()) -> Case:
        """hello's lines first..last (1-based, inclusive), with their output."""
        for n in range(first, last + 1):
            if n in skip:
                continue
            self.line(HELLO[n - 1])
            effect = hello_effect(n)
            if effect is not None:
                self.show(*effect)
        return self

    def line(self, text: bytes, error: str = "", warning: str = "") -> Case:
        self.lines.append(text)
        if error:
            self.error(error)
        if warning:
            self.warning(warning)
        return self

    def show(self, stream: str, text: bytes) -> Case:
        (self.out if stream == "stdout" else self.err).append(text)
        return self

    def error(self, what: str, lineno: int | None = None) -> Case:
        n = self.lineno if lineno is None else lineno
        self.err.append(f"fluxout: {self.path}: output eventlog line {n}: {what}\n".encode())
        self.rc = 1
        return self

    def warning(self, what: str, lineno: int | None = None) -> Case:
        n = self.lineno if lineno is None else lineno
        self.err.append(
            f"fluxout: {self.path}: warning: output eventlog line {n}: {what}\n".encode()
        )
        return self

    def write(self, root: Path) -> None:
        d = root / self.name
        d.mkdir(parents=True, exist_ok=True)
        body = b"".join(line + self.eol for line in self.lines) + self.tail
        (d / "output.eventlog").write_bytes(body)
        (d / "expected.stdout").write_bytes(b"".join(self.out))
        (d / "expected.stderr").write_bytes(b"".join(self.err))
        (d / "expected.rc").write_text(f"{self.rc}\n")
        (d / "README").write_text(self.doc.strip() + "\n")


def hello_line(n: int, **changes: object) -> bytes:
    """hello's line n with top-level or context fields changed (None: removed)."""
    obj = orjson.loads(HELLO[n - 1])
    for key, value in changes.items():
        target = obj
        if key.startswith("context."):
            target = obj["context"]
            key = key[len("context.") :]
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return orjson.dumps(obj)


def cases() -> list[Case]:
    all_cases: list[Case] = []

    def case(name: str, doc: str) -> Case:
        c = Case(name, doc)
        all_cases.append(c)
        return c

    # -- the file as a whole -------------------------------------------------

    case("empty", "An empty file: no output, no message, success.")

    c = case(
        "blank-lines",
        """Blank and whitespace-only lines are not events: skipped silently
        (``flux job info`` prints the eventlog with one extra blank line).""",
    )
    c.hello(1, 5).line(b"").hello(6, 10).line(b" \t ").hello(11, 25).line(b"")

    c = case(
        "truncated-last-line",
        """The file ends in the middle of an event (a copy cut short): the
        partial line is reported, everything before it shown.""",
    )
    c.hello(1, 12)
    c.tail = HELLO[12][:40]
    c.error("invalid JSON (unexpected end of data at column 41)", lineno=13)

    c = case(
        "last-line-no-newline",
        """The last event is complete but has no newline: it is still used
        (its data is the last bytes of stderr).""",
    )
    c.hello(1, 18)
    c.tail = HELLO[18]
    c.show("stderr", b"rank 3: this line went to stderr\n")

    c = case(
        "crlf",
        """Every line ends in CRLF: JSON allows the \\r as whitespace after the
        object, and the data (inside the JSON strings) is exactly hello's.""",
    )
    c.hello()
    c.eol = b"\r\n"

    c = case(
        "main-eventlog",
        """The job's main eventlog given where an output eventlog is expected:
        recognised by its content, it holds no output: nothing, success.""",
    )
    c.lines = (FIXTURES / "hello" / "eventlog").read_bytes().split(b"\n")[:-1]

    c = case(
        "exec-eventlog",
        """The exec eventlog given where an output eventlog is expected:
        nothing, success.""",
    )
    c.lines = (FIXTURES / "hello" / "exec.eventlog").read_bytes().split(b"\n")[:-1]

    # -- lines that are not RFC 18 entries -----------------------------------

    c = case("invalid-json-middle", "An event cut short in the middle of the file.")
    c.hello(1, 5).line(HELLO[5][:-1], error="invalid JSON (unexpected end of data at column 131)")
    c.hello(7, 25)

    c = case("json-array", "A line that is a JSON array.")
    c.hello(1, 3).line(b'["data","stdout","0"]', error="not a JSON object but an array")
    c.hello(4, 25)

    c = case("json-string", "A line that is a JSON string.")
    c.hello(1, 3).line(b'"hello from rank 0"', error="not a JSON object but a string")
    c.hello(4, 25)

    c = case("json-number", "A line that is a JSON number.")
    c.hello(1, 3).line(b"1795619482.99", error="not a JSON object but a number")
    c.hello(4, 25)

    c = case("json-null-true", "Lines that are JSON null and true.")
    c.hello(1, 3).line(b"null", error="not a JSON object but null")
    c.line(b"true", error="not a JSON object but a boolean").hello(4, 25)

    c = case(
        "nul-bytes",
        """NUL bytes: between JSON tokens and raw inside a string they make
        the line invalid JSON; escaped as \\u0000 (as flux writes them) they
        are data, written out as NUL bytes.""",
    )
    c.hello(1, 3)
    c.line(
        HELLO[3].replace(b',"name"', b',\x00"name"'),
        error="invalid JSON (unexpected character, expected a string key at column 33)",
    )
    c.line(
        HELLO[4].replace(b"stdout line 1", b"stdout\x00line 1"),
        error="invalid JSON (unexpected control character in string at column 120)",
    )
    c.line(data(TS, "stdout", "0", "NUL\x00inside\n")).show("stdout", b"NUL\x00inside\n")
    c.hello(6, 25)

    c = case(
        "invalid-utf8",
        """A line that is not UTF-8 (JSON text must be): reported with the
        byte where it goes wrong.""",
    )
    c.hello(1, 3)
    c.line(
        HELLO[3].replace(b"rank 0:", b"rank \xff:"),
        error="invalid JSON (not UTF-8 at byte 100)",
    )
    c.hello(5, 25)

    c = case(
        "lone-surrogate",
        """A \\ud800 escape with no low surrogate is not a Unicode string:
        the JSON parser refuses it (as jansson does in flux).""",
    )
    c.hello(1, 3)
    c.line(
        HELLO[3].replace(b"rank 0:", b"rank \\ud800:"),
        error="invalid JSON (no low surrogate in string at column 100)",
    )
    c.hello(5, 25)

    c = case(
        "timestamp-out-of-range",
        """Timestamps JSON cannot hold as a double (1e400) or at all (NaN):
        invalid JSON.  An integer timestamp is fine.""",
    )
    c.hello(1, 3)
    c.line(
        HELLO[3].replace(b"1795619482.9910803", b"1e400"),
        error="invalid JSON (number is infinity when parsed as double at column 14)",
    )
    c.line(
        HELLO[4].replace(b"1795619482.9910872", b"NaN"),
        error="invalid JSON (unexpected character, expected a JSON value at column 14)",
    )
    c.line(HELLO[5].replace(b"1795619482.9910972", b"1795619483"))
    c.show("stdout", b"hello from rank 1: stdout line 2\n")
    c.hello(7, 25)

    # -- RFC 18 fields missing or of the wrong type --------------------------

    c = case("missing-timestamp", "A data event with no timestamp.")
    c.hello(1, 4).line(hello_line(5, timestamp=None), error="missing or non-numeric timestamp")
    c.hello(6, 25)

    c = case("missing-name", "A data event with no name.")
    c.hello(1, 4).line(hello_line(5, name=None), error="missing or non-string name")
    c.hello(6, 25)

    c = case(
        "missing-context",
        """A data event with no context (optional in RFC 18, but a data
        event needs stream, rank and data).""",
    )
    c.hello(1, 4).line(hello_line(5, context=None), error="data event: stream missing")
    c.hello(6, 25)

    c = case("timestamp-string", "A timestamp given as a string.")
    c.hello(1, 4).line(
        hello_line(5, timestamp="1795619482.9910872"),
        error="missing or non-numeric timestamp",
    )
    c.hello(6, 25)

    c = case("name-number", "An event name that is a number.")
    c.hello(1, 4).line(hello_line(5, name=7), error="missing or non-string name")
    c.hello(6, 25)

    c = case("context-list", "A context that is a list.")
    c.hello(1, 4).line(
        hello_line(5, context=["stdout", "0", "x\n"]), error="context is not an object"
    )
    c.hello(6, 25)

    # -- RFC 24 fields -------------------------------------------------------

    c = case("data-number", "A data field that is a number.")
    c.hello(1, 4).line(hello_line(5, **{"context.data": 42}), error="data event: data is a number")
    c.hello(6, 25)

    c = case("stream-unknown", 'A stream other than stdout and stderr ("stdlog").')
    c.hello(1, 4).line(
        hello_line(5, **{"context.stream": "stdlog"}),
        error="data event: unknown stream 'stdlog'",
    )
    c.hello(6, 25)

    c = case(
        "rank-number",
        "A rank given as a number, not an RFC 22 idset string (RFC 24 says string).",
    )
    c.hello(1, 4).line(
        hello_line(5, **{"context.rank": 0}),
        error="data event: bad rank 0 (not an idset string)",
    )
    c.hello(6, 25)

    c = case("rank-list", "A rank given as a JSON list.")
    c.hello(1, 4).line(
        hello_line(5, **{"context.rank": ["0"]}),
        error="data event: bad rank ['0'] (not an idset string)",
    )
    c.hello(6, 25)

    c = case("rank-empty", 'An empty rank idset "".')
    c.hello(1, 4).line(
        hello_line(5, **{"context.rank": ""}), error="data event: bad rank '' (empty)"
    )
    c.hello(6, 25)

    c = case(
        "rank-huge",
        """Rank idsets too big for a job: past the RFC 22 maximum id
        (4294967294), and within it but naming more than 2^20 tasks in one
        event.""",
    )
    c.hello(1, 4).line(
        hello_line(5, **{"context.rank": "0-4294967295"}),
        error="data event: bad rank '0-4294967295' (4294967295 is larger than 4294967294)",
    )
    c.hello(6, 6)
    c.line(
        hello_line(7, **{"context.rank": "0-4294967294"}),
        error="data event: bad rank '0-4294967294' (more than 1048576 tasks in one event)",
    )
    c.hello(8, 25)

    c = case("rank-reversed", 'A reversed rank range "5-2".')
    c.hello(1, 4).line(
        hello_line(5, **{"context.rank": "5-2"}),
        error="data event: bad rank '5-2' (bad range '5-2')",
    )
    c.hello(6, 25)

    c = case(
        "data-encoding-utf16",
        """A data event whose encoding is neither UTF-8 nor base64: its bytes
        cannot be known, the line is lost.  "encoding": "utf-8" spelled out
        is fine.""",
    )
    c.hello(1, 4).line(
        hello_line(5, **{"context.encoding": "utf-16"}),
        error="data event: unknown data encoding 'utf-16'",
    )
    c.line(hello_line(6, **{"context.encoding": "utf-8"}))
    c.show("stdout", b"hello from rank 1: stdout line 2\n")
    c.hello(7, 25)

    c = case(
        "header-encoding-utf16",
        """A header announcing UTF-16 streams: flux always writes UTF-8 and
        flux job attach ignores the header's encoding; so does fluxout (each
        data event says how its own data is encoded).""",
    )
    header = orjson.loads(HELLO[0])
    header["context"]["encoding"] = {"stdout": "UTF-16", "stderr": "UTF-16"}
    c.line(orjson.dumps(header)).hello(2, 25)

    c = case(
        "bad-base64",
        """base64 data that is not strict base64: a length that is not a
        multiple of 4, a character outside the alphabet, padding in the
        middle.  A good base64 event around them is decoded.""",
    )
    c.hello(1, 4)
    c.line(data(TS, "stdout", "0", "aGVsbG8K", encoding="base64")).show("stdout", b"hello\n")
    c.line(
        data(TS, "stdout", "0", "aGVsbG8", encoding="base64"),
        error="data event: bad base64 data (length 7 is not a multiple of 4)",
    )
    c.line(
        data(TS, "stdout", "0", "aGVs bG8K", encoding="base64"),
        error="data event: bad base64 data (a character outside the base64 alphabet)",
    )
    c.line(
        data(TS, "stdout", "0", "aGV$bG8K", encoding="base64"),
        error="data event: bad base64 data (a character outside the base64 alphabet)",
    )
    c.line(
        data(TS, "stdout", "0", "aG==bG8K", encoding="base64"),
        error="data event: bad base64 data (a character outside the base64 alphabet)",
    )
    c.hello(5, 25)

    c = case(
        "data-after-eof",
        """Data for a task's stream after its eof: not what the shell does,
        but nothing is lost by showing it, so it is shown, silently.""",
    )
    c.hello(1, 23).line(data(TS, "stdout", "0", "late line from rank 0\n"))
    c.show("stdout", b"late line from rank 0\n").hello(24, 25)

    c = case("eof-twice", "The same eof twice: harmless, silent.")
    c.hello(1, 23).line(HELLO[22]).hello(24, 25)

    c = case(
        "keys-reordered",
        """Valid events written differently from flux: keys in another order,
        spaces, "encoding": "utf-8", an "eof": false, integer timestamp.
        The same output as hello.""",
    )
    for n in range(1, 26):
        obj = orjson.loads(HELLO[n - 1])
        ctx = obj["context"]
        if n % 3 == 0 and "data" in ctx:
            ctx["encoding"] = "utf-8"
        if n % 4 == 0 and "data" in ctx:
            ctx["eof"] = False
        if n % 5 == 0:
            obj["timestamp"] = int(obj["timestamp"])
        reordered = {k: obj[k] for k in ("context", "name", "timestamp")}
        reordered["context"] = dict(reversed(list(ctx.items())))
        text = orjson.dumps(reordered, option=orjson.OPT_INDENT_2).replace(b"\n", b"")
        c.line(text)
        effect = hello_effect(n)
        if effect is not None:
            c.show(*effect)

    # -- event names and headers ---------------------------------------------

    progress = event(TS, "progress", {"percent": 50})
    c = case(
        "unknown-event-twice",
        """An event name fluxout does not know (a newer Flux may add some):
        skipped with one warning for the name, not one per line; nothing is
        lost, so the exit status stays 0.""",
    )
    c.hello(1, 6).line(progress, warning="unknown event 'progress' skipped")
    c.hello(7, 14).line(progress).hello(15, 25)

    c = case(
        "unknown-event-first",
        """An unknown event as the very first line: the file is still
        recognised as an output eventlog by the events after it.""",
    )
    c.line(progress, warning="unknown event 'progress' skipped").hello()

    c = case(
        "bad-first-line",
        """A malformed first line (a name that is a number): the file is still
        recognised as an output eventlog by the events after it.""",
    )
    c.line(hello_line(1, name=7), error="missing or non-string name")
    # No header was decoded: the first data event warns.
    c.line(HELLO[1], warning="data before the header").show(*HELLO_EFFECT_2)
    c.hello(3, 25)

    c = case(
        "no-header",
        """No header: the data is shown, with one warning at the first data
        event.""",
    )
    c.line(HELLO[1], warning="data before the header").show(*HELLO_EFFECT_2)
    c.hello(3, 25)

    c = case(
        "two-headers",
        "A second header in the middle: a warning; the first one is kept.",
    )
    c.hello(1, 12).line(HELLO[0], warning="a second header (the first one is kept)")
    c.hello(13, 25)

    c = case(
        "header-version-2",
        """A header of an unknown version: a warning, and the events are
        still read as version 1.""",
    )
    c.line(hello_line(1, **{"context.version": 2}), warning="unknown header version 2")
    c.hello(2, 25)

    # -- log and redirect events ----------------------------------------------

    def log(level: object, message: object, **extra: object) -> bytes:
        return event(ZERO + 1.25, "log", {"rank": 0, "level": level, "message": message, **extra})

    c = case(
        "log-level-9",
        """A log level outside RFC 5424's 0-7: a warning, and the message is
        shown at the nearest level (7, TRACE) rather than lost.""",
    )
    c.hello(1, 2).line(
        log(9, "a message at level 9"),
        warning="log event: level 9 is not 0-7 (shown as 7)",
    )
    c.show("stderr", b"1.250s: flux-shell[0]: TRACE: a message at level 9\n")
    c.hello(3, 25)

    c = case(
        "log-level-string",
        """A log level given as a string: the line is lost (its level, hence
        whether to show it, cannot be known).""",
    )
    c.hello(1, 2).line(
        log("info", "a message at level info"),
        error="log event: level 'info' is not an integer",
    )
    c.line(log(4, "a warning", component="demo"))
    c.show("stderr", b"1.250s: flux-shell[0]:  WARN: demo: a warning\n")
    c.hello(3, 25)

    c = case(
        "log-malformed",
        """Log events without a message or a level; optional fields of the
        wrong type (file, line, component, rank) are ignored.""",
    )
    c.hello(1, 2)
    c.line(log(3, None), error="log event: message missing or not a string")
    c.line(
        event(ZERO + 1.25, "log", {"rank": 0, "message": "no level"}),
        error="log event: level missing",
    )
    c.line(log(3, "odd fields", rank="0", component=5, file=["x"], line="7"))
    c.show("stderr", b"1.250s: flux-shell: ERROR: odd fields\n")
    c.hello(3, 25)

    c = case(
        "redirect-malformed",
        """Redirect events without a rank or with an unknown stream are lost;
        one with a path of the wrong type is shown without the path.""",
    )
    c.hello(1, 2)
    c.line(
        event(TS, "redirect", {"stream": "stdout", "path": "/tmp/out"}),
        error="redirect event: rank missing",
    )
    c.line(
        event(TS, "redirect", {"stream": "stdin", "rank": "0", "path": "/tmp/out"}),
        error="redirect event: unknown stream 'stdin'",
    )
    c.line(event(TS, "redirect", {"stream": "stderr", "rank": "[0-1]", "path": 7}))
    c.show("stderr", b"[0-1]: stderr redirected\n")
    c.hello(3, 25)

    return all_cases


def main() -> int:
    made = cases()
    names = {c.name for c in made}
    for old in HERE.iterdir():
        if old.is_dir() and old.name not in names:
            shutil.rmtree(old)
    for c in made:
        c.write(HERE)
    index = [
        "# Malformed output eventlogs",
        "",
        "Written by `make_corpus.py` (its docstring says how the expectations",
        "were made); checked by `tests/test_malformed.py`, which also makes the",
        "cases too big or too binary to commit (a 50 MB data line, a 50 MB",
        "garbage line, a 300 MiB line over the limit, random bytes, a gzip",
        "file, an executable).",
        "",
        "| case | status | what |",
        "| --- | --- | --- |",
    ]
    for c in sorted(made, key=lambda c: c.name):
        what = " ".join(c.doc.split()).replace("|", "\\|")
        index.append(f"| `{c.name}` | {c.rc} | {what} |")
    (HERE / "README.md").write_text("\n".join(index) + "\n")
    print(f"wrote {len(made)} cases under {HERE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
