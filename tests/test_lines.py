"""Per-(stream, rank) line assembly: fluxout.lines.LineAssembler."""

from __future__ import annotations

from fluxout.idset import parse_idset
from fluxout.lines import Line, LineAssembler


def test_one_line_per_event() -> None:
    asm = LineAssembler()
    assert asm.feed(1.0, "stdout", [0], b"hello\n") == [Line(1.0, "stdout", 0, b"hello", True)]
    assert asm.feed(2.0, "stdout", [0], b"world\n") == [Line(2.0, "stdout", 0, b"world", True)]
    assert asm.pending_bytes() == 0
    assert asm.end("stdout", 0) is None


def test_several_lines_in_one_event() -> None:
    asm = LineAssembler()
    lines = asm.feed(1.5, "stdout", [2], b"a\n\nbb\nccc\n")
    assert lines == [
        Line(1.5, "stdout", 2, b"a", True),
        Line(1.5, "stdout", 2, b"", True),
        Line(1.5, "stdout", 2, b"bb", True),
        Line(1.5, "stdout", 2, b"ccc", True),
    ]


def test_several_lines_and_a_partial_tail() -> None:
    asm = LineAssembler()
    assert [ln.text for ln in asm.feed(1.0, "stdout", [0], b"a\nb\npart")] == [
        b"a",
        b"b",
    ]
    assert asm.pending_bytes() == len(b"part")
    assert asm.feed(2.0, "stdout", [0], b"ial\n") == [Line(1.0, "stdout", 0, b"partial", True)]


def test_partial_writes_completed_later() -> None:
    # The shape of the unbuffered-partial fixture: one line in many events.
    asm = LineAssembler()
    for ts, piece in [(1.0, b"rank 0: "), (2.0, b"partial "), (3.0, b"line ")]:
        assert asm.feed(ts, "stdout", [0], piece) == []
    assert asm.pending_bytes() == len(b"rank 0: partial line ")
    out = asm.feed(4.0, "stdout", [0], b"in pieces\nthird line starts ")
    assert out == [Line(1.0, "stdout", 0, b"rank 0: partial line in pieces", True)]
    out = asm.feed(5.0, "stdout", [0], b"and ends\n")
    assert out == [Line(4.0, "stdout", 0, b"third line starts and ends", True)]
    assert asm.pending_bytes() == 0


def test_interleaved_ranks_never_mix() -> None:
    asm = LineAssembler()
    got: list[Line] = []
    events = [
        (1.0, 1, b"rank 1: "),
        (1.1, 0, b"rank 0: "),
        (1.2, 1, b"partial "),
        (1.3, 0, b"partial "),
        (1.4, 0, b"end\n"),
        (1.5, 1, b"end\n"),
    ]
    for ts, rank, data in events:
        got.extend(asm.feed(ts, "stdout", [rank], data))
    assert got == [
        Line(1.1, "stdout", 0, b"rank 0: partial end", True),
        Line(1.0, "stdout", 1, b"rank 1: partial end", True),
    ]


def test_streams_of_one_rank_never_mix() -> None:
    asm = LineAssembler()
    assert asm.feed(1.0, "stdout", [0], b"out ") == []
    assert asm.feed(2.0, "stderr", [0], b"err ") == []
    assert asm.feed(3.0, "stderr", [0], b"done\n") == [Line(2.0, "stderr", 0, b"err done", True)]
    assert asm.feed(4.0, "stdout", [0], b"done\n") == [Line(1.0, "stdout", 0, b"out done", True)]


def test_multi_rank_feed() -> None:
    asm = LineAssembler()
    # One event for ranks [0-1]: both ranks wrote these bytes.
    out = asm.feed(1.0, "stdout", parse_idset("[0-1]"), b"same\nhalf ")
    assert sorted(out) == [
        Line(1.0, "stdout", 0, b"same", True),
        Line(1.0, "stdout", 1, b"same", True),
    ]
    # Each rank then finishes its own line differently.
    assert asm.feed(2.0, "stdout", [1], b"one\n") == [Line(1.0, "stdout", 1, b"half one", True)]
    assert asm.feed(3.0, "stdout", [0], b"zero\n") == [Line(1.0, "stdout", 0, b"half zero", True)]


def test_multi_rank_feed_completes_each_rank() -> None:
    asm = LineAssembler()
    asm.feed(1.0, "stderr", [0], b"a")
    asm.feed(2.0, "stderr", [2], b"c")
    out = asm.feed(3.0, "stderr", parse_idset("0-2"), b"!\n")
    assert sorted(out, key=lambda ln: ln.rank) == [
        Line(1.0, "stderr", 0, b"a!", True),
        Line(3.0, "stderr", 1, b"!", True),
        Line(2.0, "stderr", 2, b"c!", True),
    ]


def test_end_returns_final_partial_line() -> None:
    asm = LineAssembler()
    asm.feed(1.0, "stdout", [3], b"first\nno newline")
    asm.feed(2.0, "stdout", [3], b" at the end")
    assert asm.end("stdout", 3) == Line(1.0, "stdout", 3, b"no newline at the end", False)
    # Ended: nothing is left for that task.
    assert asm.end("stdout", 3) is None
    assert asm.pending_bytes() == 0


def test_end_of_other_key_leaves_pending_alone() -> None:
    asm = LineAssembler()
    asm.feed(1.0, "stdout", [0], b"keep")
    assert asm.end("stderr", 0) is None
    assert asm.end("stdout", 1) is None
    assert asm.end("stdout", 0) == Line(1.0, "stdout", 0, b"keep", False)


def test_end_after_complete_line_is_none() -> None:
    asm = LineAssembler()
    asm.feed(1.0, "stdout", [0], b"whole\n")
    assert asm.end("stdout", 0) is None


def test_end_all_orders_by_time() -> None:
    asm = LineAssembler()
    asm.feed(3.0, "stdout", [0], b"c")
    asm.feed(1.0, "stderr", [5], b"a")
    asm.feed(2.0, "stdout", [1], b"b")
    asm.feed(4.0, "stdout", [1], b"b2")  # same line: keeps time 2.0
    ended = asm.end_all()
    assert ended == [
        Line(1.0, "stderr", 5, b"a", False),
        Line(2.0, "stdout", 1, b"bb2", False),
        Line(3.0, "stdout", 0, b"c", False),
    ]
    assert asm.end_all() == []
    assert asm.pending_bytes() == 0


def test_end_all_same_time_is_deterministic() -> None:
    # A multi-rank event leaves lines with one timestamp: order by rank.
    asm = LineAssembler()
    asm.feed(1.0, "stdout", [3, 1, 2], b"x")
    assert [ln.rank for ln in asm.end_all()] == [1, 2, 3]


def test_empty_data() -> None:
    asm = LineAssembler()
    assert asm.feed(1.0, "stdout", [0], b"") == []
    assert asm.end("stdout", 0) is None
    asm.feed(2.0, "stdout", [0], b"abc")
    # An empty event (such as an eof) neither ends nor changes the line.
    assert asm.feed(3.0, "stdout", [0], b"") == []
    assert asm.pending_bytes() == 3
    assert asm.feed(4.0, "stdout", [0], b"\n") == [Line(2.0, "stdout", 0, b"abc", True)]


def test_empty_lines() -> None:
    asm = LineAssembler()
    assert asm.feed(1.0, "stdout", [0], b"\n") == [Line(1.0, "stdout", 0, b"", True)]
    assert asm.feed(2.0, "stdout", [0], b"\n\n") == [
        Line(2.0, "stdout", 0, b"", True),
        Line(2.0, "stdout", 0, b"", True),
    ]


def test_line_timestamp_is_time_of_first_byte() -> None:
    asm = LineAssembler()
    assert asm.feed(10.0, "stdout", [0], b"one\ntw") == [Line(10.0, "stdout", 0, b"one", True)]
    out = asm.feed(11.0, "stdout", [0], b"o\nthree\nfo")
    assert out == [
        Line(10.0, "stdout", 0, b"two", True),
        Line(11.0, "stdout", 0, b"three", True),
    ]
    assert asm.feed(12.0, "stdout", [0], b"ur\n") == [Line(11.0, "stdout", 0, b"four", True)]
    # The next line starts in a later event: its own time.
    asm.feed(13.0, "stdout", [0], b"five")
    assert asm.end("stdout", 0) == Line(13.0, "stdout", 0, b"five", False)


def test_binary_bytes_kept_exactly() -> None:
    asm = LineAssembler()
    blob = bytes(range(256))
    out = asm.feed(1.0, "stdout", [0], blob)
    assert out == [Line(1.0, "stdout", 0, bytes(range(10)), True)]
    tail = asm.end("stdout", 0)
    assert tail is not None
    assert tail.text == bytes(range(11, 256))
    assert b"\r" in tail.text  # no \r handling: bytes are never interpreted


def test_crlf_keeps_carriage_return() -> None:
    asm = LineAssembler()
    assert asm.feed(1.0, "stdout", [0], b"dos\r\n") == [Line(1.0, "stdout", 0, b"dos\r", True)]
