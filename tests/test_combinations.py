"""Every line option composes with every other.

First the combinations that were broken, one test each; then a property
test that draws option sets over the captured fixtures and compares
fluxout's bytes with a plain reference model that lives only here.
"""

from __future__ import annotations

import atexit
import base64
import io
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxout.cli import main
from fluxout.filters import TimeBound, compile_regex, parse_time_bound
from fluxout.idset import parse_idset, parse_task_filter
from fluxout.render.output import TextRenderer
from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run
from tests.conftest import FIXTURES
from tests.test_features import write_eventlog


def show(command: str, jobs: list[str], **options: Any) -> tuple[bytes, bytes, int]:
    """A request run in-process: (stdout, stderr, status)."""
    out, err = io.BytesIO(), io.BytesIO()
    status = run(Request(command, jobs, **options), Terminal(out, err, False, False, False, {}))
    return out.getvalue(), err.getvalue(), status


def numbered(tmp_path: Path, counts: dict[int, int]) -> str:
    """A job whose task R writes lines "R.1" ... "R.<counts[R]>", the tasks
    taking turns, one line per event."""
    data = []
    for i in range(max(counts.values())):
        for rank, count in counts.items():
            if i < count:
                data.append(("stdout", str(rank), f"{rank}.{i + 1}\n"))
    return str(write_eventlog(tmp_path / "output.eventlog", data, len(counts)))


# -- --head with --tail: the first N and the last M, each line once ----------


def test_head_and_tail_give_the_first_and_the_last_lines(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 5, 1: 3})
    out, err, rc = show("cat", [job], head=2, tail=1, label=True)
    assert (err, rc) == (b"", 0)
    assert out == b"0: 0.1\n1: 1.1\n0: 0.2\n1: 1.2\n1: 1.3\n0: 0.5\n"


def test_overlapping_head_and_tail_show_each_line_once(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 3, 1: 4})
    out, _, rc = show("cat", [job], head=3, tail=3, label=True)
    assert rc == 0
    assert out == b"0: 0.1\n1: 1.1\n0: 0.2\n1: 1.2\n0: 0.3\n1: 1.3\n1: 1.4\n"


def test_head_and_tail_count_after_the_other_filters(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 9})
    out, _, _ = show("cat", [job], head=1, tail=1, exclude=[re.compile(rb"\.[15]$")])
    assert out == b"0.2\n0.9\n"


def test_tail_keeps_the_order_the_lines_were_written_in(tmp_path: Path) -> None:
    # Task 0's line begins first but ends last: as without --tail, the
    # line that was finished first comes first.
    data = [("stdout", "0", "slow "), ("stdout", "1", "quick\n"), ("stdout", "0", "line\n")]
    job = str(write_eventlog(tmp_path / "output.eventlog", data, 2))
    plain, _, _ = show("cat", [job], label=True)
    assert plain == b"1: quick\n0: slow line\n"
    assert show("cat", [job], label=True, tail=5)[0] == plain
    assert show("lines", [job], json=True, tail=5)[0] == show("lines", [job], json=True)[0]


def test_follow_head_and_tail_go_on_with_the_new_lines(tmp_path: Path) -> None:
    job = numbered(tmp_path, {0: 5})
    out, _, rc = show("follow", [job], follow=True, head=1, tail=1)
    assert (out, rc) == (b"0.1\n0.5\n", 0)


def test_highlight_in_a_pipe_changes_no_byte() -> None:
    # Partial lines of two tasks, interleaved: assembling lines would reorder them.
    job = str(FIXTURES / "unbuffered-partial")
    plain = show("cat", [job])
    assert show("cat", [job], highlight=[re.compile(b"line")]) == plain
    labelled = show("cat", [job], label=True)
    assert show("cat", [job], label=True, highlight=[re.compile(b"line")]) == labelled


# -- options that cannot be used together: one line, status 2 ---------------


def cli(capsysbinary: pytest.CaptureFixture[bytes], *args: str) -> tuple[bytes, bytes, int]:
    """fluxout's main in-process: (stdout, stderr, status)."""
    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsysbinary.readouterr()
    assert isinstance(exc.value.code, int)
    return out, err, exc.value.code


HELLO = str(FIXTURES / "hello")
LINE_OPTIONS = [
    ("--grep", "x"),
    ("--include", "x"),
    ("--exclude", "x"),
    ("--since", "1s"),
    ("--until", "1s"),
    ("--timestamps", "rel"),
    ("--head", "1"),
    ("--tail", "1"),
    ("--coalesce",),
    ("--highlight", "x"),
]


@pytest.mark.parametrize("label", [(), ("-l",)])
@pytest.mark.parametrize("option", LINE_OPTIONS, ids=lambda o: o[0])
@pytest.mark.parametrize("command", ["cat", "follow"])
def test_unbuffered_writes_events_not_lines(
    command: str, option: tuple[str, ...], label: tuple[str, ...], capsysbinary
) -> None:
    out, err, rc = cli(capsysbinary, command, "-u", *label, *option, HELLO)
    name = "--grep" if option[0] == "--include" else option[0]
    assert (out, rc) == (b"", 2)
    why = b"-u writes events, not lines: it cannot be used with %s" % name.encode()
    assert err == b"fluxout: %s (see fluxout %s --help)\n" % (why, command.encode())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("cat", "--split", "DIR", "-l"),
            "--split writes each task's output to its own files: it cannot be used with -l",
        ),
        (
            ("cat", "--split", "DIR", "--timestamps=abs"),
            "--split writes each task's output to its own files: it cannot be used with "
            "--timestamps",
        ),
        (
            ("follow", "--split", "DIR", "--coalesce"),
            "--split writes each task's output to its own files: it cannot be used with --coalesce",
        ),
        (
            ("cat", "--split", "DIR", "--highlight", "x"),
            "--split writes each task's output to its own files: it cannot be used with "
            "--highlight",
        ),
        (
            ("cat", "--split", "DIR", "-u", "--grep", "x"),
            "--split writes each task's output to its own files: it cannot be used with -u",
        ),
        (
            ("cat", "--force"),
            "--force replaces the files of --split: it cannot be used without --split",
        ),
        (
            ("lines", "--json", "--format", "{line}"),
            "--format writes each line through its template: it cannot be used with --json",
        ),
        (
            ("lines", "--format", "{line}", "--timestamps=abs"),
            "--format writes each line through its template: it cannot be used with --timestamps",
        ),
        (
            ("lines", "--json", "--timestamps=delta"),
            "--json writes each line's timestamp as a number: it cannot be used with --timestamps",
        ),
        (
            ("follow", "-q", "-L", "error"),
            "-q shows no job shell log messages: it cannot be used with -L",
        ),
        (
            ("cat", "-v", "--quiet"),
            "-q shows no job shell log messages: it cannot be used with -v",
        ),
        (
            ("events", "--eventlog", "main", "-t", "0"),
            "-t selects output events: it cannot be used without --eventlog output",
        ),
        (
            ("events", "--eventlog", "exec", "--stream", "stderr"),
            "--stream selects output events: it cannot be used without --eventlog output",
        ),
        (
            ("events", "--eventlog", "main", "-L", "error"),
            "-L selects output events: it cannot be used without --eventlog output",
        ),
    ],
)
def test_options_that_would_be_ignored_are_usage_errors(
    args: tuple[str, ...], message: str, capsysbinary, tmp_path: Path
) -> None:
    argv = [str(tmp_path / "out") if a == "DIR" else a for a in args]
    out, err, rc = cli(capsysbinary, *argv, HELLO)
    help_hint = f" (see fluxout {args[0]} --help)\n".encode()
    assert (out, err, rc) == (b"", b"fluxout: " + message.encode() + help_hint, 2)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("variable", "args", "message"),
    [
        (
            "FLUXOUT_GREP",
            ("cat", "-u"),
            "-u writes events, not lines: it cannot be used with FLUXOUT_GREP (for --grep)",
        ),
        (
            "FLUXOUT_CAT_UNBUFFERED",
            ("cat", "--head", "1"),
            "FLUXOUT_CAT_UNBUFFERED (for -u) writes events, not lines: it cannot be used "
            "with --head",
        ),
        (
            "FLUXOUT_JSON",
            ("lines", "--format", "{line}"),
            "--format writes each line through its template: it cannot be used with "
            "FLUXOUT_JSON (for --json)",
        ),
    ],
)
def test_an_option_set_in_the_environment_is_named_by_its_variable(
    variable: str, args: tuple[str, ...], message: str, capsysbinary, monkeypatch
) -> None:
    monkeypatch.setenv(variable, "1")
    out, err, rc = cli(capsysbinary, *args, HELLO)
    help_hint = f" (see fluxout {args[0]} --help)\n".encode()
    assert (out, err, rc) == (b"", b"fluxout: " + message.encode() + help_hint, 2)


def test_lines_timestamps_choose_the_time_column(capsysbinary) -> None:
    args = ("-t", "0", "--stream", "stdout", HELLO)
    rel = cli(capsysbinary, "lines", *args)[0].splitlines()
    assert rel[0].startswith(b"     0.798s   0 stdout hello")  # since the submit
    assert cli(capsysbinary, "lines", "--timestamps=rel", *args)[0].splitlines() == rel
    delta = cli(capsysbinary, "lines", "--timestamps=delta", *args)[0].splitlines()
    assert [d[:8] for d in delta] == [b"    +0.0"] * 3
    assert [d[11:] for d in delta] == [r[11:] for r in rel]
    absolute = cli(capsysbinary, "lines", "--timestamps=abs", *args)[0].splitlines()
    assert all(re.match(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}   0 stdout ", a) for a in absolute)


def test_events_log_level_keeps_the_shell_messages_at_or_above_it(capsysbinary) -> None:
    verbose = str(FIXTURES / "shell-log-verbose")
    every, _, rc = cli(capsysbinary, "events", "--json", "--eventlog", "output", verbose)
    assert rc == 0
    events = [orjson.loads(line) for line in every.splitlines()]
    levels = [e["context"]["level"] for e in events if e["name"] == "log"]
    assert min(levels) <= 6 < max(levels)
    warn, _, rc = cli(
        capsysbinary, "events", "--json", "--eventlog", "output", "-L", "info", verbose
    )
    assert rc == 0
    want = [e for e in events if e["name"] != "log" or e["context"]["level"] <= 6]
    assert [orjson.loads(line) for line in warn.splitlines()] == want


# -- --split holds the lines the filters keep ------------------------------


def split_files(directory: Path) -> dict[str, bytes]:
    return (
        {p.name: p.read_bytes() for p in sorted(directory.iterdir())} if directory.exists() else {}
    )


@pytest.mark.parametrize(
    ("options", "want"),
    [
        ({"include": [re.compile(rb"\.[13]")]}, {"0.out": b"0.1\n0.3\n", "1.out": b"1.1\n1.3\n"}),
        ({"exclude": [re.compile(rb"^0")]}, {"1.out": b"1.1\n1.2\n1.3\n"}),
        ({"head": 1, "tail": 1}, {"0.out": b"0.1\n0.5\n", "1.out": b"1.1\n1.3\n"}),
        ({"tail": 2, "tasks": parse_idset("0")}, {"0.out": b"0.4\n0.5\n"}),
        ({"head": 1, "streams": frozenset({"stderr"})}, {}),
        ({"since": TimeBound(105.5, True)}, {"0.out": b"0.4\n0.5\n", "1.out": b"1.3\n"}),
        ({"until": TimeBound(4.5, False)}, {"0.out": b"0.1\n0.2\n", "1.out": b"1.1\n1.2\n"}),
    ],
)
def test_split_holds_the_filtered_lines(
    options: dict[str, Any], want: dict[str, bytes], tmp_path: Path
) -> None:
    job = numbered(tmp_path, {0: 5, 1: 3})  # at 101.0, 102.0, ... (header at 100.0)
    _, err, rc = show("cat", [job], split=tmp_path / "out", **options)
    assert rc == 0, err
    # Every selected task has its files, empty when no line of it passed.
    tasks, streams = options.get("tasks"), options.get("streams", {"stdout", "stderr"})
    empty = {
        f"{rank}.{'out' if stream == 'stdout' else 'err'}": b""
        for rank in (0, 1)
        for stream in streams
        if tasks is None or rank in tasks
    }
    assert split_files(tmp_path / "out" / "output.eventlog") == {**empty, **want}


def test_split_keeps_a_last_line_without_its_newline(tmp_path: Path) -> None:
    data = [("stdout", "0", "one\ntw"), ("stdout", "1", "x\n"), ("stdout", "0", "o")]
    job = str(write_eventlog(tmp_path / "output.eventlog", data, 2))
    _, err, rc = show("cat", [job], split=tmp_path / "out", include=[re.compile(b"o")])
    assert rc == 0, err
    files = split_files(tmp_path / "out" / "output.eventlog")
    assert files == {"0.out": b"one\ntwo", "1.out": b"", "0.err": b"", "1.err": b""}


# -- the property test: option sets against a plain reference model --------
#
# The model reads a fixture the obvious way: each task's lines are its
# expected/ bytes cut at newlines; when and in which order each line came is
# read from the output eventlog's data events by the tiny decoder below (json
# and base64, nothing of fluxout's). A line is complete at the event holding
# its newline; a last line without one at its task's eof, or at the end of
# the eventlog (oldest first). Every option is then applied as its help says.

REPO = Path(__file__).resolve().parent.parent
# The captured fixtures in full, where they are (they hold the same cases as
# tests/data/fixtures, which is enough: any case only found there is added).
SHARED = Path(os.environ.get("FLUXOUT_SHARED_FIXTURES", REPO.parent / "shared" / "fixtures"))
# Bigger cases (MiB lines, 20000 events) make an example too slow to run hundreds.
SLOW = {"long-line", "long-line-split", "many-small-lines"}


@dataclass(frozen=True)
class MLine:
    """A line of the model."""

    stream: str
    rank: int
    text: bytes
    eol: bool
    ts: float  # when its first byte came


@dataclass
class MJob:
    """A fixture as the model sees it."""

    path: str
    name: str
    ntasks: int
    start: float | None  # the job's start (main eventlog), else the output header
    submit: float | None  # lines count from here: the submit, else the first event read
    lines: list[MLine]  # in the order they were complete
    data: list[tuple[str, list[int], bytes]]  # each data event: stream, ranks, bytes
    words: list[str]  # for --grep and --exclude


def model_ranks(idset: str) -> list[int]:
    """An RFC 22 idset as this model needs it ("3", "[0-3]", "0,2-5")."""
    ranks: list[int] = []
    for part in idset.strip("[]").split(","):
        lo, _, hi = part.partition("-")
        ranks.extend(range(int(lo), int(hi or lo) + 1))
    return ranks


def model_idset(ranks: set[int]) -> str:
    """A set of ranks as an idset, as a user would write it for -t."""
    runs: list[list[int]] = []
    for rank in sorted(ranks):
        if runs and rank == runs[-1][-1] + 1:
            runs[-1].append(rank)
        else:
            runs.append([rank])
    return ",".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def model_events(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def load_job(case: Path) -> MJob:
    output = model_events(case / "output.eventlog")
    main_log = model_events(case / "eventlog")
    header = [e for e in output if e["name"] == "header"]
    starts = [e["timestamp"] for e in main_log if e["name"] == "start"]
    start = starts[0] if starts else header[0]["timestamp"] if header else None
    ntasks = header[0]["context"]["count"]["stdout"] if header else 0
    # When each line came, from the data events.
    held: dict[tuple[str, int], tuple[float, bytes]] = {}
    came: list[tuple[str, int, float]] = []  # stream, rank, first byte's time
    data: list[tuple[str, list[int], bytes]] = []
    for event in output:
        ctx = event["context"]
        if event["name"] != "data":
            continue
        stream, ranks, ts = ctx["stream"], model_ranks(ctx["rank"]), event["timestamp"]
        text = ctx.get("data", "")
        raw = base64.b64decode(text) if ctx.get("encoding") == "base64" else text.encode()
        if raw:
            data.append((stream, ranks, raw))
        for rank in ranks:
            key = (stream, rank)
            rest = raw
            while b"\n" in rest:
                first = held.pop(key, (ts, b""))[0]
                came.append((stream, rank, first))
                rest = rest[rest.index(b"\n") + 1 :]
            if rest and key not in held:
                held[key] = (ts, rest)
        if ctx.get("eof"):
            for rank in ranks:
                if (stream, rank) in held:
                    came.append((stream, rank, held.pop((stream, rank))[0]))
    for (stream, rank), (ts, _) in sorted(
        held.items(), key=lambda kv: (kv[1][0], kv[0][1], kv[0][0])
    ):
        came.append((stream, rank, ts))
    # What each line holds, from expected/ (of the tasks and streams that have
    # data in the eventlog: redirected output's expected/ went to files).
    texts: dict[tuple[str, int], list[tuple[bytes, bool]]] = {}
    for stream, rank in {(s, r) for s, r, _ in came}:
        written = (case / "expected" / f"{stream}.{rank}").read_bytes()
        pieces = written.split(b"\n")
        texts[(stream, rank)] = [(p, True) for p in pieces[:-1]] + (
            [(pieces[-1], False)] if pieces[-1] else []
        )
    lines = []
    for stream, rank, ts in came:
        text, eol = texts[(stream, rank)].pop(0)
        lines.append(MLine(stream, rank, text, eol, ts))
    assert not any(texts.values()), f"{case.name}: expected/ holds more lines than the eventlog"
    words = sorted({w.decode() for line in lines for w in re.findall(rb"[A-Za-z]{3,}", line.text)})
    exec_log = model_events(case / "exec.eventlog")
    firsts = [log[0]["timestamp"] for log in (main_log, exec_log, header) if log]
    submit = firsts[0] if firsts else None
    return MJob(str(case), case.name, ntasks, start, submit, lines, data, words)


def model_cases() -> dict[str, Path]:
    cases = {p.parent.name: p.parent for p in FIXTURES.glob("*/case.json")}
    if SHARED.is_dir():
        for p in SHARED.glob("*/case.json"):
            cases.setdefault(p.parent.name, p.parent)
    return {name: path for name, path in sorted(cases.items()) if name not in SLOW}


# A crafted job for what the captured ones never do: events of several ranks
# (all, or some, of them selected), several lines and a partial one in one
# event, base64 data, and lines that never end (no eof: they end with the
# eventlog, oldest first, ties by rank). (stream, idset, its ranks, data)
CRAFTED = [
    ("stdout", "[0-2]", [0, 1, 2], b"all three\n"),
    ("stdout", "[0-2]", [0, 1, 2], b"all three again\n"),  # known: the fast lane's
    ("stdout", "0", [0], b"zero first\n"),  # the fast lane knows task 0 from here
    ("stdout", "0", [0], b"zero starts "),  # and completes its line itself
    ("stdout", "0", [0], b"and ends\nzero again\nzero goes on "),
    ("stdout", "1", [1], b"one: a\none: b\none: c "),
    ("stderr", "0,2", [0, 2], b"err one\nerr two\n"),
    ("stdout", "0", [0], b"and on\n"),
    ("stdout", "2", [2], b"\xffbin\xfe\n"),
    ("stdout", "1", [1], b"continues\n"),
    ("stdout", "[1-2]", [1, 2], b"shared partial "),
    ("stderr", "1", [1], b"no newline"),
    ("stdout", "1", [1], None),  # eof
    ("stdout", "2", [2], b"tail\nlast partial"),
    ("stdout", "0", [0], b"zero unfinished"),
    ("stderr", "[0-2]", [0, 1, 2], b"tie "),
]


def crafted_job(root: Path) -> Path:
    """CRAFTED as a job directory: its output eventlog and expected/."""
    case = root / "crafted"
    (case / "expected").mkdir(parents=True)
    count = {"stdout": 3, "stderr": 3}
    header = {"version": 1, "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"}, "count": count}
    events = [{"timestamp": 10.0, "name": "header", "context": {**header, "options": {}}}]
    written: dict[tuple[str, int], bytes] = {}
    for i, (stream, idset, ranks, data) in enumerate(CRAFTED):
        ctx: dict[str, Any] = {"stream": stream, "rank": idset}
        if data is None:
            ctx["eof"] = True
        else:
            try:
                ctx["data"] = data.decode()
            except UnicodeDecodeError:
                ctx["data"], ctx["encoding"] = base64.b64encode(data).decode(), "base64"
            for rank in ranks:
                written[(stream, rank)] = written.get((stream, rank), b"") + data
        events.append({"timestamp": 10.25 + i / 4, "name": "data", "context": ctx})
    (case / "output.eventlog").write_text("".join(json.dumps(e) + "\n" for e in events))
    for (stream, rank), data in written.items():
        (case / "expected" / f"{stream}.{rank}").write_bytes(data)
    return case


CRAFTED_ROOT = Path(tempfile.mkdtemp(prefix="fluxout-combinations-"))
atexit.register(shutil.rmtree, CRAFTED_ROOT, True)
JOBS = {name: load_job(path) for name, path in model_cases().items()}
JOBS["crafted"] = load_job(crafted_job(CRAFTED_ROOT))


def test_the_model_reads_every_fixture_as_expected() -> None:
    """The model's own check: the lines of each task, put together, are
    exactly its expected/ bytes (where the output is in the eventlog), and
    the raw data events give the same."""
    assert {"hello", "unbuffered-partial", "binary", "many-ranks", "crafted"} <= set(JOBS)
    for job in JOBS.values():
        got: dict[tuple[str, int], bytes] = {}
        raw: dict[tuple[str, int], bytes] = {}
        for line in job.lines:
            key = (line.stream, line.rank)
            got[key] = got.get(key, b"") + line.text + (b"\n" if line.eol else b"")
        for stream, ranks, data in job.data:
            for rank in ranks:
                raw[(stream, rank)] = raw.get((stream, rank), b"") + data
        assert got == raw, job.name
        for (stream, rank), text in got.items():
            assert (Path(job.path) / "expected" / f"{stream}.{rank}").read_bytes() == text


@dataclass
class Options:
    """One drawn option set, as the model reads it."""

    cases: list[str]  # the fixtures (JOBS) given as JOB arguments
    tasks: set[int] | None = None
    streams: frozenset[str] = frozenset(("stdout", "stderr"))
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    since: str | None = None
    until: str | None = None
    head: int | None = None
    tail: int | None = None
    label: bool = False
    timestamps: str | None = None
    highlight: bool = False
    json: bool = False
    template: list[tuple[str, str]] | None = None  # ("field", name) or ("text", literal)

    @property
    def jobs(self) -> list[MJob]:
        return [JOBS[case] for case in self.cases]

    def request(self, command: str, **extra: Any) -> Request:
        """The same options as fluxout's CLI would give them."""
        template = None
        if self.template is not None:
            template = "".join(f"{{{v}}}" if k == "field" else v for k, v in self.template)
        return Request(
            command,
            [job.path for job in self.jobs],
            tasks=parse_task_filter(model_idset(self.tasks)) if self.tasks is not None else None,
            streams=self.streams,
            include=[compile_regex(p) for p in self.include],
            exclude=[compile_regex(p) for p in self.exclude],
            since=parse_time_bound(self.since) if self.since else None,
            until=parse_time_bound(self.until) if self.until else None,
            head=self.head,
            tail=self.tail,
            label=self.label,
            timestamps=self.timestamps,
            highlight=[compile_regex("e")] if self.highlight else [],
            json=self.json,
            template=template,
            # The model is of eventlog data: redirected files are
            # tests/test_redirected.py's.
            redirected=False,
            **extra,
        )

    @property
    def filtered(self) -> bool:
        return bool(
            self.include
            or self.exclude
            or self.since
            or self.until
            or self.head is not None
            or self.tail is not None
        )


def model_bound(spec: str, start: float | None) -> float:
    """--since/--until as drawn here: "@EPOCH" or "SECONDSs" after the start."""
    if spec.startswith("@"):
        return float(spec[1:])
    assert start is not None
    return start + float(spec.removesuffix("s"))


def model_lines(job: MJob, opts: Options) -> list[MLine]:
    """The lines shown, in the order they are shown."""
    kept = [
        line
        for line in job.lines
        if line.stream in opts.streams and (opts.tasks is None or line.rank in opts.tasks)
    ]
    if opts.since:
        kept = [line for line in kept if line.ts >= model_bound(opts.since, job.start)]
    if opts.until:
        kept = [line for line in kept if line.ts <= model_bound(opts.until, job.start)]
    if opts.include:
        kept = [
            line for line in kept if any(re.search(p.encode(), line.text) for p in opts.include)
        ]
    kept = [
        line for line in kept if not any(re.search(p.encode(), line.text) for p in opts.exclude)
    ]
    if opts.head is None and opts.tail is None:
        return kept
    per_task: dict[tuple[str, int], list[MLine]] = {}
    for line in kept:
        per_task.setdefault((line.stream, line.rank), []).append(line)
    shown = set()
    for lines in per_task.values():
        for i, line in enumerate(lines):
            first = opts.head is not None and i < opts.head
            last = opts.tail is not None and i >= len(lines) - opts.tail
            if first or last:
                shown.add(id(line))
    return [line for line in kept if id(line) in shown]


def model_abs(ts: float) -> str:
    whole = int(ts)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(whole)) + (
        f".{int((ts - whole) * 1000):03d}"
    )


def model_cat(opts: Options) -> tuple[bytes, bytes]:
    """cat: (stdout, stderr)."""
    out = {"stdout": b"", "stderr": b""}
    several = len(opts.jobs) > 1
    decorated = opts.label or opts.timestamps is not None or several
    by_line = decorated or opts.filtered  # --highlight changes nothing in a pipe
    for job in opts.jobs:
        if not by_line:  # the bytes as they came, once per event
            for stream, ranks, data in job.data:
                shown = opts.tasks is None or any(r in opts.tasks for r in ranks)
                if stream in opts.streams and shown:
                    out[stream] += data
            continue
        last: float | None = None
        for line in model_lines(job, opts):
            head = f"{job.name}: " if several else ""
            if opts.timestamps == "abs":
                head += model_abs(line.ts) + " "
            elif opts.timestamps == "rel":
                assert job.start is not None
                head += f"{line.ts - job.start:9.3f}s "
            elif opts.timestamps == "delta":
                head += f"+{line.ts - (last if last is not None else line.ts):.3f}s "
                last = line.ts
            if opts.label:
                head += f"{line.rank}: "
            end = b"\n" if line.eol or decorated else b""
            out[line.stream] += head.encode() + line.text + end
    return out["stdout"], out["stderr"]


def model_record(job: MJob, line: MLine) -> bytes:
    record: dict[str, Any] = {
        "job": job.path,
        "rank": line.rank,
        "stream": line.stream,
        "line": "",
        "eol": line.eol,
        "timestamp": line.ts,
    }
    try:
        record["line"] = line.text.decode()
    except UnicodeDecodeError:
        record["line"] = base64.b64encode(line.text).decode()
        record["encoding"] = "base64"
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def model_template(job: MJob, line: MLine, template: list[tuple[str, str]]) -> bytes:
    """One line through a --format template: each field as it is, or
    through its format spec (numbers as numbers, the rest as text)."""
    assert job.submit is not None
    values = {
        "job": job.path.encode(),
        "rank": str(line.rank).encode(),
        "stream": line.stream.encode(),
        "time": f"{line.ts - job.submit:.3f}".encode(),
        "timestamp": f"{line.ts:.6f}".encode(),
        "line": line.text,
        "eol": b"true" if line.eol else b"false",
    }
    numbers = {"rank": line.rank, "time": line.ts - job.submit, "timestamp": line.ts}
    literal = {"\\t": b"\t", "\\n": b"\n"}
    out = b""
    for kind, value in template:
        name, _, spec = value.partition(":")
        if kind == "text":
            out += literal.get(value, value.encode())
        elif not spec:
            out += values[name]
        else:
            field = numbers.get(name, values[name].decode(errors="surrogateescape"))
            out += format(field, spec).encode(errors="surrogateescape")
    return out if out.endswith(b"\n") else out + b"\n"


def model_lines_command(opts: Options) -> bytes:
    """lines: stdout (human, --json or --format)."""
    out = b""
    for job in opts.jobs:
        last: float | None = None
        for line in model_lines(job, opts):
            if opts.json:
                out += model_record(job, line)
            elif opts.template is not None:
                out += model_template(job, line, opts.template)
            else:
                assert job.submit is not None
                if opts.timestamps == "abs":
                    when = model_abs(line.ts)
                elif opts.timestamps == "delta":
                    when = f"+{line.ts - (last if last is not None else line.ts):.3f}".rjust(10)
                    when += "s"
                    last = line.ts
                else:
                    when = f"{line.ts - job.submit:10.3f}s"
                out += f"{when} {line.rank:>3} {line.stream:<6} ".encode() + line.text + b"\n"
    return out


def model_split(opts: Options) -> dict[str, bytes]:
    """cat --split: each file DIR/JOB/RANK.out|err and what it holds; every
    selected task of the job has its files, empty when nothing passed."""
    files: dict[str, bytes] = {}
    suffix = {"stdout": "out", "stderr": "err"}
    for job in opts.jobs:
        for rank in range(job.ntasks):
            if opts.tasks is None or rank in opts.tasks:
                for stream in opts.streams:
                    files[f"{job.name}/{rank}.{suffix[stream]}"] = b""
        for line in model_lines(job, opts):
            name = f"{job.name}/{line.rank}.{suffix[line.stream]}"
            files[name] = files.get(name, b"") + line.text + (b"\n" if line.eol else b"")
    return files


# -- drawing option sets ----------------------------------------------------

TEMPLATE_FIELDS = ["job", "rank", "stream", "time", "timestamp", "line", "eol"]
# Format specs, as flux jobs --format takes them.
TEMPLATE_SPECS = ["rank:>4", "rank:03d", "time:.1f", "timestamp:.2f", "line:>30", "stream:^8"]
TEMPLATE_TEXT = ["|", " ", ": ", "\\t", "\\n", "[", "]"]
FILTERS = ["tasks", "streams", "grep", "exclude", "since", "until", "head", "tail"]
# The options each command is drawn with (a few at a time, so that the plain
# path, with none, is drawn often too).
OPTIONS = {
    "cat": [*FILTERS, "label", "timestamps", "highlight"],
    "lines": [*FILTERS, "form"],
    "split": FILTERS,
}
STREAMS = [frozenset(("stdout",)), frozenset(("stderr",)), frozenset(("stdout", "stderr"))]


@st.composite
def option_sets(draw: st.DrawFn, command: str) -> Options:
    """A few of the command's options, with values drawn from the fixtures'
    own tasks, words and times."""
    several = draw(st.sampled_from([1, 1, 1, 2]))
    # The crafted job does the most per line: it is drawn as often as 4 fixtures.
    cases = st.sampled_from([*sorted(JOBS), *["crafted"] * 3])
    names = draw(st.lists(cases, min_size=several, max_size=several, unique=True))
    opts = Options(names)
    jobs = opts.jobs
    count = draw(st.integers(0, 5))
    chosen = draw(
        st.lists(st.sampled_from(OPTIONS[command]), min_size=count, max_size=count, unique=True)
    )
    ntasks = max(job.ntasks for job in jobs)
    words = sorted({w for job in jobs for w in job.words}) or ["line"]
    regex = st.sampled_from(words).map(re.escape) | st.sampled_from(
        ["^\\w", "\\d$", "rank [02]", "e"]
    )
    times = sorted({line.ts for job in jobs for line in job.lines})

    def bound() -> str:
        at = draw(st.sampled_from(times or [0.0])) + draw(st.sampled_from([0.0, -1e-4, 1e-4]))
        start = jobs[0].start
        if several == 1 and start is not None and at >= start and draw(st.booleans()):
            return f"{at - start:.6f}s"  # after the job's start
        return f"@{at!r}"

    if "tasks" in chosen:
        opts.tasks = draw(st.sets(st.integers(0, ntasks + 1), min_size=1, max_size=ntasks + 2))
    if "streams" in chosen:
        opts.streams = draw(st.sampled_from(STREAMS))
    if "grep" in chosen:
        opts.include = draw(st.lists(regex, min_size=1, max_size=2))
    if "exclude" in chosen:
        opts.exclude = draw(st.lists(regex, min_size=1, max_size=2))
    if "since" in chosen:
        opts.since = bound()
    if "until" in chosen:
        opts.until = bound()
    if "head" in chosen:
        opts.head = draw(st.integers(0, 4))
    if "tail" in chosen:
        opts.tail = draw(st.integers(0, 4))
    opts.label = "label" in chosen
    opts.highlight = "highlight" in chosen
    if "timestamps" in chosen:
        opts.timestamps = draw(st.sampled_from(["abs", "rel", "delta"]))
    if "form" in chosen:
        form = draw(st.sampled_from(["json", "format", "timestamps"]))
        opts.json = form == "json"
        if form == "format":
            fields = st.sampled_from([*TEMPLATE_FIELDS, *TEMPLATE_SPECS])
            piece = st.tuples(st.just("field"), fields) | st.tuples(
                st.just("text"), st.sampled_from(TEMPLATE_TEXT)
            )
            opts.template = draw(st.lists(piece, min_size=1, max_size=6))
        else:
            opts.timestamps = (
                draw(st.sampled_from(["abs", "rel", "delta"])) if form == "timestamps" else None
            )
    return opts


def run_quietly(request: Request) -> tuple[bytes, bytes, int]:
    """run in-process; fluxout's own messages (shell logs, exceptions, the
    --split summary) are kept apart from the job's stderr."""
    notes: list[str] = []
    out, err = io.BytesIO(), io.BytesIO()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(TextRenderer, "note", lambda self, text, style="": notes.append(text))
        status = run(request, Terminal(out, err, False, False, False, {}))
    said = [n for n in notes if n.startswith("fluxout: ") and "wrote" not in n]
    # A selection that can hold nothing is told (status 0); nothing else is.
    assert not [n for n in said if not EMPTY_SELECTION.search(n)], notes
    return out.getvalue(), err.getvalue(), status


EMPTY_SELECTION = re.compile(
    r": warning: (-t \S+ selects no task|--since .* is after|--until .* is before)"
)


# Each job with each command's plain forms (the fast lanes among them).
PLAIN = {
    "cat": {},
    "cat -l": {"label": True},
    "cat --timestamps=delta -l": {"label": True, "timestamps": "delta"},
    "lines": {},
    "lines --json": {"json": True},
    "lines --format": {"template": [("field", "rank"), ("text", ":"), ("field", "line")]},
}


@pytest.mark.parametrize("form", sorted(PLAIN))
@pytest.mark.parametrize("case", sorted(JOBS))
def test_every_job_in_every_plain_form(case: str, form: str) -> None:
    opts = Options([case], **PLAIN[form])
    command = form.split()[0]
    out, err, rc = run_quietly(opts.request(command))
    assert rc == 0
    if command == "cat":
        assert (out, err) == model_cat(opts)
    else:
        assert (out, err) == (model_lines_command(opts), b"")


@settings(max_examples=600, deadline=None)
@given(opts=option_sets("cat"))
def test_cat_options_compose(opts: Options) -> None:
    out, err, rc = run_quietly(opts.request("cat"))
    assert rc == 0
    want_out, want_err = model_cat(opts)
    assert out == want_out
    assert err == want_err


@settings(max_examples=400, deadline=None)
@given(opts=option_sets("lines"))
def test_lines_options_compose(opts: Options) -> None:
    out, err, rc = run_quietly(opts.request("lines"))
    assert (err, rc) == (b"", 0)
    assert out == model_lines_command(opts)


@settings(max_examples=250, deadline=None)
@given(opts=option_sets("split"))
def test_split_options_compose(opts: Options) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out, err, rc = run_quietly(opts.request("cat", split=Path(tmp)))
        files = {
            str(p.relative_to(tmp)): p.read_bytes() for p in Path(tmp).rglob("*") if p.is_file()
        }
    assert (out, err, rc) == (b"", b"", 0)
    assert files == model_split(opts)
