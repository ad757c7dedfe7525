"""The fast lane (plain data events written in batches) must give exactly
the bytes of the careful path, record by record, for any event sequence."""

from __future__ import annotations

import io

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from fluxout.job import JobOutput
from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run

TEXT = st.text(alphabet=st.sampled_from(list('ab \n\t{}[]%é€\x00"\\')), max_size=12)
RANK = st.sampled_from(["0", "1", "0", "1", "[0-1]", "7"])
EVENT = st.one_of(
    st.tuples(st.just("data"), st.sampled_from(["stdout", "stderr"]), RANK, TEXT),
    st.tuples(st.just("eof"), st.sampled_from(["stdout", "stderr"]), RANK, st.just("")),
    st.tuples(st.just("junk"), st.sampled_from(["{", "[]", '{"name":"x"}']), RANK, TEXT),
    st.tuples(st.just("log"), st.just(""), RANK, TEXT),
)


def eventlog(events: list[tuple[str, str, str, str]]) -> bytes:
    header = {
        "version": 1,
        "encoding": {"stdout": "UTF-8", "stderr": "UTF-8"},
        "count": {"stdout": 3, "stderr": 3},
        "options": {},
    }
    out = [orjson.dumps({"timestamp": 1.0, "name": "header", "context": header})]
    for i, (kind, stream, rank, text) in enumerate(events):
        ts = 2.0 + i / 8
        if kind == "data":
            ctx = {"stream": stream, "rank": rank, "data": text}
            out.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
        elif kind == "eof":
            ctx = {"stream": stream, "rank": rank, "eof": True}
            out.append(orjson.dumps({"timestamp": ts, "name": "data", "context": ctx}))
        elif kind == "log":
            ctx = {"rank": 0, "level": 4, "message": text}
            out.append(orjson.dumps({"timestamp": ts, "name": "log", "context": ctx}))
        else:
            out.append(stream.encode())
    return b"\n".join(out) + b"\n"


def show(path: str, args: dict[str, object], fast: bool) -> tuple:
    """stdout, stderr and status of cat, with or without the fast lane."""
    with pytest.MonkeyPatch.context() as m:
        if not fast:
            m.setattr(JobOutput, "_fast_ok", lambda self: False)
        out, err = io.BytesIO(), io.BytesIO()
        status = run(Request("cat", [path], **args), Terminal(out, err, False, False, False, {}))
    return out.getvalue(), err.getvalue(), status


@pytest.mark.parametrize(
    "args",
    [{}, {"label": True}, {"tasks": None, "label": True, "streams": frozenset({"stdout"})}],
)
@settings(max_examples=200, deadline=None)
@given(events=st.lists(EVENT, max_size=25))
# A partial line completed later by the same task: the lane must leave it to the assembler.
@example(events=[("data", "stdout", "0", "a"), ("data", "stdout", "0", "b\n")])
def test_fast_lane_equals_careful_path(
    tmp_path_factory: pytest.TempPathFactory,
    args: dict[str, object],
    events: list[tuple[str, str, str, str]],
) -> None:
    path = tmp_path_factory.mktemp("lane") / "output.eventlog"
    path.write_bytes(eventlog(events))
    assert show(str(path), args, True) == show(str(path), args, False)


def test_task_filter_in_the_fast_lane(tmp_path) -> None:
    from fluxout.idset import parse_idset

    events = [("data", "stdout", r, f"line from {r}\n") for r in ("0", "1", "2", "[0-2]")] * 3
    path = tmp_path / "output.eventlog"
    path.write_bytes(eventlog(events))
    args = {"tasks": parse_idset("1"), "label": True}
    fast = show(str(path), args, True)
    assert fast == show(str(path), args, False)
    assert fast[0] == b"1: line from 1\n1: line from [0-2]\n" * 3
