"""--coalesce: the same blocks as a plain reference, in bounded memory.

``cat --coalesce`` keeps each task's output as a digest and bytes that go
to a temporary file past a few MiB (fluxout/render/blocks.py). Here its
output is compared with a reference computed the simple way (every task's
bytes in memory), with the careful path's line assembly (a filter that
keeps every line), and with itself when everything is spilled. Inputs that
once took gigabytes run in a subprocess under an address-space limit, fed
through a pipe, so that nothing big is written to disk.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import resource
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxout.idset import IdSet
from fluxout.render import blocks
from fluxout.render.blocks import Store, TaskOutputs
from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run
from tests.conftest import CASES, FIXTURES, Run

RULE = b"-" * 16 + b"\n"
LIMIT = 400 << 20  # address space: fluxout itself needs well under 100 MB

# One event: (stream, ranks, data or None, eof).
Event = tuple[str, list[int], bytes | None, bool]


# -- inputs ------------------------------------------------------------------------


def event(name: str, context: dict[str, object], ts: float = 100.0) -> bytes:
    return orjson.dumps({"timestamp": ts, "name": name, "context": context}) + b"\n"


def header(ntasks: int) -> bytes:
    count = {"stdout": ntasks, "stderr": ntasks}
    return event("header", {"version": 1, "encoding": {}, "count": count, "options": {}})


def data(rank: str, text: str, stream: str = "stdout") -> bytes:
    return event("data", {"stream": stream, "rank": rank, "data": text})


def eofs(ntasks: int) -> bytes:
    ranks = IdSet(((0, ntasks - 1),)).format()
    return b"".join(
        event("data", {"stream": s, "rank": ranks, "eof": True}) for s in ("stdout", "stderr")
    )


def eventlog(ntasks: int, events: Iterable[Event]) -> bytes:
    lines = [header(ntasks)]
    for i, (stream, ranks, raw, eof) in enumerate(events):
        ctx: dict[str, object] = {"stream": stream, "rank": IdSet.of(ranks).format()}
        if raw is not None:
            try:
                ctx["data"] = raw.decode()
            except UnicodeDecodeError:
                ctx["data"] = base64.b64encode(raw).decode()
                ctx["encoding"] = "base64"
        if eof:
            ctx["eof"] = True
        lines.append(event("data", ctx, 101.0 + i))
    return b"".join(lines)


# -- the reference ------------------------------------------------------------------


def reference(events: Iterable[Event]) -> tuple[bytes, bytes]:
    """(stdout, stderr) of cat --coalesce, the plain way: every task's
    bytes, a newline ending each last line (at its eof, or at the end)."""
    outputs: dict[tuple[str, int], bytearray] = {}
    for stream, ranks, raw, eof in events:
        for rank in ranks:
            out = outputs.setdefault((stream, rank), bytearray())
            if raw:
                out += raw
            if eof and out and not out.endswith(b"\n"):
                out += b"\n"
    result = []
    for stream in ("stdout", "stderr"):
        groups: dict[bytes, list[int]] = {}
        for (s, rank), out in sorted(outputs.items(), key=lambda kv: kv[0][1]):
            if s == stream and out:
                text = bytes(out) if out.endswith(b"\n") else bytes(out) + b"\n"
                groups.setdefault(text, []).append(rank)
        result.append(
            b"".join(
                RULE + IdSet.of(ranks).format().encode() + b"\n" + RULE + text
                for text, ranks in groups.items()
            )
        )
    return result[0], result[1]


def coalesce(path: Path, tty: bool = False, **kw: object) -> tuple[bytes, bytes, int]:
    """cat --coalesce in this process: (stdout, stderr, status)."""
    term = Terminal(io.BytesIO(), io.BytesIO(), tty, tty, False, {})
    rc = run(Request("cat", [str(path)], color="never", coalesce=True, **kw), term)  # type: ignore[arg-type]
    assert isinstance(term.stdout, io.BytesIO) and isinstance(term.stderr, io.BytesIO)
    return term.stdout.getvalue(), term.stderr.getvalue(), rc


def spilled(held: int = 1, small: int = 0, piece: int = 3) -> ExitStack:
    """Everything to the temporary file at once, read back in tiny pieces."""
    stack = ExitStack()
    stack.enter_context(mock.patch.object(blocks, "HELD_BYTES", held))
    stack.enter_context(mock.patch.object(blocks, "SMALL", small))
    stack.enter_context(mock.patch.object(blocks, "PIECE", piece))
    return stack


EVERY_LINE = [re.compile(b"")]  # a filter: the careful path's line assembly


# -- the same bytes, every way -------------------------------------------------------


_texts = st.lists(st.sampled_from([b"a", b"b", b"\n", b"ab\n", b"\xff", b""]), max_size=4).map(
    b"".join
)
_events = st.lists(
    st.tuples(
        st.sampled_from(["stdout", "stderr"]),
        st.lists(st.integers(0, 5), min_size=1, max_size=6, unique=True).map(sorted),
        st.one_of(st.none(), _texts),
        st.booleans(),
    ).filter(lambda e: e[2] is not None or e[3]),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(_events)
def test_blocks_match_the_reference(
    tmp_path_factory: pytest.TempPathFactory, events: list[Event]
) -> None:
    """In memory, spilled, and by lines: the bytes of the reference."""
    path = tmp_path_factory.mktemp("log") / "output.eventlog"
    path.write_bytes(eventlog(6, events))
    want = reference(events)
    assert coalesce(path)[:2] == want
    assert coalesce(path, include=EVERY_LINE)[:2] == want
    with spilled():
        assert coalesce(path)[:2] == want
    with spilled(held=40, small=2, piece=1 << 20):
        assert coalesce(path)[:2] == want


@pytest.mark.parametrize("case", CASES)
def test_fixtures_spilled_and_by_lines_are_the_same(
    case: str, case_dir: Callable[[str], Path]
) -> None:
    d = case_dir(case)
    plain = coalesce(d)
    assert coalesce(d, include=EVERY_LINE) == plain
    with spilled():
        assert coalesce(d) == plain
    for streams in (frozenset(["stdout"]), frozenset(["stderr"])):
        assert coalesce(d, streams=streams, include=EVERY_LINE) == coalesce(d, streams=streams)


def test_cat_coalesce_of_a_fixture(case_dir: Callable[[str], Path]) -> None:
    """many-ranks: 16 tasks, a first line each of their own, the rest the same."""
    d = case_dir("many-ranks")
    out, err, rc = coalesce(d, streams=frozenset(["stdout"]))
    assert rc == 0 and err == b""
    headers = out.split(RULE)[1::2]
    assert headers == [b"%d\n" % r for r in range(16)]


_ranges = st.lists(st.tuples(st.integers(0, 40), st.integers(0, 6)), min_size=1, max_size=4).map(
    lambda spans: IdSet((lo, lo + n) for lo, n in spans).ranges
)
_ops = st.lists(st.tuples(_ranges, st.one_of(st.none(), _texts.filter(bool))), max_size=40)


@settings(max_examples=300, deadline=None)
@given(_ops, st.booleans())
def test_task_outputs_match_a_dict_of_bytes(
    ops: list[tuple[tuple[tuple[int, int], ...], bytes | None]], spill: bool
) -> None:
    """Ranges that cut, cover and fill each other's gaps: the contents of a
    plain dict of bytes per task (None: an eof)."""
    with spilled() if spill else ExitStack():
        store = Store()
        tasks = TaskOutputs(store)
        model: dict[int, bytearray] = {}
        for ranges, raw in ops:
            ranks = [r for lo, hi in ranges for r in range(lo, hi + 1)]
            if raw is None:
                tasks.end(ranges)
                for r in ranks:
                    if model.get(r) and not model[r].endswith(b"\n"):
                        model[r] += b"\n"
            else:
                tasks.add(ranges, raw)
                for r in ranks:
                    model.setdefault(r, bytearray()).extend(raw)
            assert list(tasks.his) == sorted(tasks.his)
            assert all(lo <= hi for lo, hi in zip(tasks.los, tasks.his, strict=True))
        got = [(IdSet(r), b"".join(store.read(c))) for r, c in tasks.groups()]
        want: dict[bytes, list[int]] = {}
        for r, out in sorted(model.items()):
            if out:
                want.setdefault(bytes(out if out.endswith(b"\n") else out + b"\n"), []).append(r)
        assert got == [(IdSet.of(ranks), text) for text, ranks in want.items()]
        store.close()


def test_tasks_store_split_and_shared() -> None:
    """A range of tasks shares one content until an event is for some of them."""
    store = Store()
    tasks = TaskOutputs(store)
    tasks.add(((0, 65535),), b"all\n")
    tasks.add(((7, 7),), b"seven")
    tasks.add(((0, 65535),), b" end\n")
    tasks.end(((0, 65535),))
    groups = [(IdSet(r).format(), b"".join(store.read(c))) for r, c in tasks.groups()]
    assert groups == [("[0-6,8-65535]", b"all\n end\n"), ("7", b"all\nseven end\n")]
    assert len(tasks.contents) == 3  # three ranges, not 65536 tasks


def test_tasks_that_write_the_same_apart_are_one_block() -> None:
    store = Store()
    tasks = TaskOutputs(store)
    for rank in (3, 1, 0):
        tasks.add(((rank, rank),), b"x\ny")
    tasks.add(((2, 2),), b"x\n")
    tasks.add(((2, 2),), b"y\n")
    groups = [(IdSet(r).format(), b"".join(store.read(c))) for r, c in tasks.groups()]
    assert groups == [("[0-3]", b"x\ny\n")]


# -- bounded memory ------------------------------------------------------------------


# A small process between pytest and fluxout: fluxout is forked from it, so
# its peak RSS (which Linux carries across exec) starts from this process's
# few MB, not from pytest's, whatever the in-process tests grew it to. It
# writes "status maxrss" to the descriptor its first argument names once
# fluxout has ended.
LAUNCH = """
import os, sys
result = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.close(result)
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
os.write(result, b"%d %d" % (os.waitstatus_to_exitcode(status), usage.ru_maxrss))
"""


def fluxout_piped(
    args: list[str], chunks: Iterator[bytes], limit: int = LIMIT, timeout: float = 120
) -> tuple[bytes, bytes, int, int]:
    """fluxout under an address-space limit, its input written to a pipe as
    it is made: (sha256 of stdout, stderr, status, peak RSS in bytes)."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    result_r, result_w = os.pipe()
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, str(result_w), "-m", "fluxout", *args, "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=cap,
        pass_fds=(result_w,),
        start_new_session=True,  # so the timeout ends fluxout too
    )
    os.close(result_w)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None

    def feed() -> None:
        assert proc.stdin is not None
        try:
            for chunk in chunks:
                proc.stdin.write(chunk)
        except BrokenPipeError:
            pass
        finally:
            proc.stdin.close()

    errors: list[bytes] = []
    writer = threading.Thread(target=feed, daemon=True)
    reader = threading.Thread(target=lambda: errors.append(proc.stderr.read()), daemon=True)  # type: ignore[union-attr]
    writer.start()
    reader.start()
    digest = hashlib.sha256()
    timer = threading.Timer(timeout, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        while chunk := proc.stdout.read(1 << 20):
            digest.update(chunk)
        proc.wait()
        with os.fdopen(result_r, "rb") as result:
            status, maxrss = (int(n) for n in result.read().split())
    finally:
        timer.cancel()
    writer.join()
    reader.join()
    err = errors[0] if errors else b""
    assert b"Traceback" not in err and b"MemoryError" not in err, err[-2000:]
    return digest.digest(), err, status, maxrss * 1024


def sha(*parts: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest.digest()


def test_an_event_for_many_tasks_is_kept_once() -> None:
    """200 events for 65536 tasks: once 58 s and 770 MB (a list per task)."""
    ntasks = 1 << 16
    every = f"[0-{ntasks - 1}]"

    def chunks() -> Iterator[bytes]:
        yield header(ntasks)
        yield b"".join(data(every, f"line {i}\n") for i in range(200))
        yield data("7", "seven\n") + data(every, "end\n") + eofs(ntasks)

    out, err, rc, rss = fluxout_piped(["cat", "--coalesce"], chunks(), timeout=30)
    lines = b"".join(b"line %d\n" % i for i in range(200))
    assert (err, rc) == (b"", 0)
    assert out == sha(
        RULE + b"[0-6,8-65535]\n" + RULE + lines + b"end\n",
        RULE + b"7\n" + RULE + lines + b"seven\nend\n",
    )
    assert rss < 100 << 20


def test_big_outputs_stay_out_of_memory() -> None:
    """4 tasks x 16 MiB: the bytes go to the temporary file, not to RAM
    (the whole output once took 4-5 times its size in memory)."""
    nlines = 16 << 10

    def line(rank: int, n: int) -> str:
        return f"task {rank % 2} line {n:06d} ".ljust(1023, "=") + "\n"

    def chunks() -> Iterator[bytes]:
        yield header(4)
        for n in range(nlines):
            yield b"".join(data(str(r), line(r, n)) for r in range(4))
        yield eofs(4)

    out, err, rc, rss = fluxout_piped(["cat", "--coalesce"], chunks())
    assert (err, rc) == (b"", 0)
    even = "".join(line(0, n) for n in range(nlines)).encode()
    odd = "".join(line(1, n) for n in range(nlines)).encode()
    assert out == sha(RULE + b"[0,2]\n" + RULE + even, RULE + b"[1,3]\n" + RULE + odd)
    assert rss < 100 << 20


def test_one_big_event_for_many_tasks() -> None:
    """16 MiB for 16 tasks (256 MiB once assembled per task): kept once."""
    text = "z" * ((16 << 20) - 1) + "\n"
    log = [header(16), data("[0-15]", text), data("3", "x\n"), eofs(16)]
    out, err, rc, rss = fluxout_piped(["cat", "--coalesce"], iter(log), limit=600 << 20)
    assert (err, rc) == (b"", 0)
    assert out == sha(
        RULE + b"[0-2,4-15]\n" + RULE + text.encode(), RULE + b"3\n" + RULE + text.encode() + b"x\n"
    )
    # What reading one 16 MiB event costs (plain cat: 90 MB), not 16 copies.
    assert rss < 160 << 20


def test_follow_holds_only_so_many_bytes() -> None:
    """One task far ahead, in lines of 1 MB: at most MAX_HELD_BYTES wait
    (up to 10000 lines of them once did: 220 MB of these 300, given fast)."""
    nlines = 300
    line = "-" * 1_000_000 + "\n"
    ahead = data("0", line)  # made once: the input comes as fast as it can

    def chunks() -> Iterator[bytes]:
        yield header(2) + data("1", "only\n")
        for _ in range(nlines):
            yield ahead
        yield eofs(2)

    out, err, rc, rss = fluxout_piped(["follow", "--coalesce"], chunks())
    assert rc == 0, err
    # Task 1's line goes out with task 0's first, or before it (if it
    # waited long enough); the rest go out alone.
    first, only = b"0: " + line.encode(), b"1: only\n"
    rest = [first] * (nlines - 1)
    assert out in (sha(first, only, *rest), sha(only, first, *rest))
    assert rss < 100 << 20


def test_follow_writes_a_huge_line_without_copies() -> None:
    text = "h" * (8 << 20) + "\n"
    log = [header(2), data("0", text), data("1", text), eofs(2)]
    out, err, rc, _ = fluxout_piped(["follow", "--coalesce"], iter(log))
    assert rc == 0, err
    assert out == sha(b"[0-1]: " + text.encode())


# -- options ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["cat", "follow"])
@pytest.mark.parametrize(
    ("option", "named"),
    [
        ("-l", "-l"),
        ("--label", "-l"),
        ("--timestamps", "--timestamps"),
        ("--timestamps=rel", "--timestamps"),
    ],
)
def test_coalesce_refuses_labels_and_timestamps(
    run: Run, command: str, option: str, named: str
) -> None:
    job = FIXTURES / "hello"
    for args in ((option, "--coalesce"), ("--coalesce", option)):
        out, err, rc = run(command, job, *args)  # a bare --timestamps would take JOB as its value
        assert (out, rc) == (b"", 2)
        why = f"--coalesce names the ranks itself: it cannot be used with {named}"
        assert err == f"fluxout: {why} (see fluxout {command} --help)\n".encode()


def test_help_says_so(run: Run) -> None:
    out, _, rc = run("cat", "--help")
    assert rc == 0
    text = b" ".join(out.split())
    assert b"Not with -l or --timestamps" in text
    assert b"names the stream" in text


def _two_streams(tmp_path: Path) -> Path:
    events: list[Event] = [
        ("stdout", [0, 1], b"out\n", False),
        ("stderr", [0, 1], b"err\n", False),
        ("stderr", [2], b"other\n", False),
    ]
    path = tmp_path / "output.eventlog"
    path.write_bytes(eventlog(3, events))
    return path


def test_a_terminal_names_the_stream_of_each_block(tmp_path: Path) -> None:
    path = _two_streams(tmp_path)
    out, err, rc = coalesce(path, tty=True)
    assert rc == 0
    assert out == RULE + b"[0-1] stdout\n" + RULE + b"out\n"
    assert (
        err == RULE + b"[0-1] stderr\n" + RULE + b"err\n" + RULE + b"2 stderr\n" + RULE + b"other\n"
    )
    # One stream shown: nothing to tell apart.
    out, err, rc = coalesce(path, tty=True, streams=frozenset(["stderr"]))
    assert (out, rc) == (b"", 0)
    assert err.startswith(RULE + b"[0-1]\n" + RULE)
    # A pipe keeps the headers as they were.
    out, err, _ = coalesce(path)
    assert out == RULE + b"[0-1]\n" + RULE + b"out\n"
    assert err.startswith(RULE + b"[0-1]\n" + RULE)
