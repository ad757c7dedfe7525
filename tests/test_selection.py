"""Selecting jobs (-a, -A, -f, --jobs-since, -c, --user, --name, --queue, --in),
jobid paths ƒA/ƒB, follow --new, -v and the end summary, offline: the
policy alone, then the CLI over tests/fakeflux.FakeInstance, which
evaluates job-list's requests as flux-core 0.88 does."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from fluxout import nested, watch
from fluxout.jobid import format_jobid, parse_jobid
from fluxout.selection import (
    Discovery,
    JobRecord,
    Selection,
    SelectionError,
    choose,
    job_list_payload,
    parse_filters,
    parse_when,
)
from fluxout.sources.flux import boundary as flux_boundary
from tests.conftest import Run, run_in_process
from tests.fakeflux import FakeFlux, FakeInstance

ME = os.getuid()

# -- the policy ---------------------------------------------------------------


def test_filters_are_states_and_results_in_comma_lists() -> None:
    assert parse_filters(["running,FAILED", "sched"]) == {"running", "failed", "sched"}
    with pytest.raises(SelectionError, match="invalid filter 'bogus'"):
        parse_filters(["running,bogus"])


@pytest.mark.parametrize(
    ("sel", "states", "results"),
    [
        (Selection(active=True), 62, 0),
        (Selection(all=True), 126, 0),
        (Selection(filters=frozenset({"failed"})), 0, 2),
        (Selection(name=re.compile("x")), 62, 0),  # nothing of state: the active jobs
        (Selection(since=100.0), 126, 0),  # --jobs-since alone implies -A
        (Selection(since=100.0, filters=frozenset({"inactive"})), 64, 0),
    ],
)
def test_state_masks_are_flux_watchs(sel: Selection, states: int, results: int) -> None:
    terms = job_list_payload(sel)["constraint"]["and"]
    assert {"userid": [ME]} in terms
    got_states = next((t["states"][0] for t in terms if "states" in t), 0)
    got_results = next((t["results"][0] for t in terms if "results" in t), 0)
    assert (got_states, got_results) == (states, results)


def test_states_and_results_together_are_either() -> None:
    terms = job_list_payload(Selection(filters=parse_filters(["running,failed"])))
    assert {"or": [{"states": [48]}, {"results": [2]}]} in terms["constraint"]["and"]


def test_user_all_queue_since_and_count() -> None:
    payload = job_list_payload(
        Selection(all=True, user="all", queues=("batch", "debug"), since=5.0, count=7)
    )
    assert payload["constraint"] == {"and": [{"queue": ["batch", "debug"]}, {"states": [126]}]}
    assert (payload["since"], payload["max_entries"]) == (5.0, 7)
    assert job_list_payload(Selection(user=str(ME + 1)))["constraint"]["and"][0] == {
        "userid": [ME + 1]
    }
    with pytest.raises(SelectionError, match="no such user"):
        job_list_payload(Selection(user="no-such-user-here"))


def test_name_is_matched_here_so_job_list_is_not_cut_first() -> None:
    sel = Selection(all=True, name=re.compile("^b"), count=2)
    assert job_list_payload(sel)["max_entries"] == 0
    records = [JobRecord(i, "INACTIVE", "COMPLETED", n) for i, n in enumerate("abcbdbb", 10)]
    # job-list's order is newest first: the first two matches, then oldest first.
    assert [r.id for r in choose(reversed(records), sel)] == [15, 16]


def test_when_forms() -> None:
    now = 1_800_000_000.0
    assert parse_when("1h", now) == now - 3600
    assert parse_when("-30m", now) == now - 1800
    assert parse_when("@1700000000", now) == 1_700_000_000.0
    assert parse_when("1700000000", now) == 1_700_000_000.0
    assert parse_when("2026-01-02T03:04:05+00:00", now) == 1767323045.0
    with pytest.raises(SelectionError, match="in the future"):
        parse_when("@1900000000", now)
    with pytest.raises(SelectionError, match="invalid time"):
        parse_when("soon", now)


def test_discovery_keeps_what_was_not_seen_and_asks_for_what_ended_since() -> None:
    answers = [
        [JobRecord(1, "RUN", None, t_submit=99.0), JobRecord(2, "RUN", None, t_submit=100.5)],
        [
            JobRecord(4, "INACTIVE", "FAILED", t_submit=98.0),  # before the start: not new
            JobRecord(3, "INACTIVE", "FAILED", t_submit=101.5),
            JobRecord(2, "RUN", None, t_submit=100.5),
        ],
    ]
    asked: list[dict[str, object]] = []

    def ask(payload: dict[str, object]) -> list[JobRecord]:
        asked.append(payload)
        return answers[len(asked) - 1]

    clock = iter([101.0, 102.0])
    found = Discovery(Selection(active=True, count=1), ask, {1}, 100.0, clock=lambda: next(clock))
    assert [r.id for r in found.poll()] == [2]
    assert [r.id for r in found.poll()] == [3]
    # Active jobs, and those that ended since the last look (a second early).
    assert asked[0]["constraint"]["and"][-1] == {"states": [126]}
    assert (asked[0]["since"], asked[1]["since"]) == (99.0, 100.0)
    assert asked[0]["max_entries"] == 1000  # --count limits the first look only


# -- the CLI over a fake instance ------------------------------------------------


CASES = {"hello": "hello", "exit-code": "fails", "canceled-running": "sleeper"}


@pytest.fixture
def run() -> Run:
    """The CLI in this process, always (FLUXOUT_TEST_SUBPROCESS too): the
    fake instance is put in place of the boundary's connect here."""

    def go(*args: str | Path, stdin: bytes | None = None) -> tuple[bytes, bytes, int]:
        out, err, rc = run_in_process(*args, stdin=stdin)
        assert b"Traceback" not in err, err.decode(errors="replace")
        return out, err, rc

    return go


@pytest.fixture
def instance(case_dir, monkeypatch: pytest.MonkeyPatch) -> FakeInstance:  # type: ignore[no-untyped-def]
    inst = FakeInstance()
    for case, name in CASES.items():
        inst.add(FakeFlux(case_dir(case), start_at=None), name, queue="batch")
    monkeypatch.setattr(flux_boundary, "connect", inst.connect)
    monkeypatch.setattr(nested, "_cache", {})
    return inst


def f58(case_dir, case: str) -> str:  # type: ignore[no-untyped-def]
    meta = json.loads((case_dir(case) / "case.json").read_text())
    return format_jobid(parse_jobid(meta["jobid"]))


def alone(case_dir, case: str) -> bytes:  # type: ignore[no-untyped-def]
    """What fluxout cat prints of the job read alone (no prefix)."""
    out, _, rc = run_in_process("cat", "--stream", "stdout", case_dir(case))
    assert rc == 0
    return out


def by_prefix(out: bytes, job: str) -> bytes:
    head = f"{job}: ".encode()
    return b"".join(line[len(head) :] for line in out.splitlines(True) if line.startswith(head))


def test_cat_all_reads_every_job_oldest_first_each_byte_exact(
    run: Run, instance: FakeInstance, case_dir
) -> None:  # type: ignore[no-untyped-def]
    out, err, rc = run("cat", "-A", "--stream", "stdout")
    assert rc == 0
    ids = sorted(CASES, key=lambda c: parse_jobid(f58(case_dir, c)))
    firsts = [line.split(b": ")[0].decode() for line in out.splitlines()]
    assert list(dict.fromkeys(firsts)) == [f58(case_dir, c) for c in ids]
    for case in CASES:
        assert by_prefix(out, f58(case_dir, case)) == alone(case_dir, case)
    lines = err.decode().splitlines()
    # cat tells the canceled job's exception as attach does; the summary is last.
    assert (
        lines[0]
        == f"0.778s: job.exception {f58(case_dir, 'canceled-running')} type=cancel severity=0 "
    )
    assert lines[1:] == [
        "3 jobs: 1 completed, 1 failed, 1 canceled",
        # The failed jobs in the order they were read: oldest first.
        f"  {f58(case_dir, 'exit-code')} failed (exit 3)",
        f"  {f58(case_dir, 'canceled-running')} canceled (exit 143): cancel",
    ]


def test_follow_all_exits_with_the_worst_status(run: Run, instance: FakeInstance) -> None:
    _out, _err, rc = run("follow", "-A", "--summary", "never")
    assert rc == 143  # canceled-running: SIGTERM, the worst of 0, 3, 143


@pytest.mark.parametrize(
    ("args", "cases"),
    [
        (["-f", "failed"], ["exit-code"]),
        (["-f", "completed,canceled"], ["hello", "canceled-running"]),
        (["-A", "--name", "^(hel|fai)"], ["hello", "exit-code"]),
        (["-A", "--queue", "debug"], []),
        (["-A", "--queue", "debug,batch"], ["hello", "exit-code", "canceled-running"]),
        (["-A", "-c", "1"], ["canceled-running"]),  # the most recently inactive
        (["-a"], []),
    ],
)
def test_selection_options_choose_as_job_list_does(
    run: Run, instance: FakeInstance, case_dir, args: list[str], cases: list[str]
) -> None:  # type: ignore[no-untyped-def]
    out, err, rc = run("cat", "--summary", "never", "--stream", "stdout", *args)
    assert rc == 0
    if not cases:
        assert (out, err) == (b"", b"fluxout: no matching jobs\n")
    elif len(cases) == 1:
        assert out == alone(case_dir, cases[0])  # one job: no prefix
    else:
        for case in CASES:
            expected = alone(case_dir, case) if case in cases else b""
            assert by_prefix(out, f58(case_dir, case)) == expected


def test_other_users_jobs_only_with_user(run: Run, case_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    inst = FakeInstance()
    inst.add(FakeFlux(case_dir("hello"), start_at=None), "mine")
    inst.add(FakeFlux(case_dir("exit-code"), start_at=None), "theirs", userid=ME + 1)
    monkeypatch.setattr(flux_boundary, "connect", inst.connect)
    out, _, _ = run("cat", "-A", "--summary", "never", "--stream", "stdout")
    assert out == alone(case_dir, "hello")
    out, _, _ = run("cat", "-A", "--user", str(ME + 1), "--stream", "stdout")
    assert out == alone(case_dir, "exit-code")
    out, err, _ = run("cat", "-A", "--user", "all", "--stream", "stdout")
    assert by_prefix(out, f58(case_dir, "hello")) == alone(case_dir, "hello")
    assert err.startswith(b"2 jobs: 1 completed, 1 failed\n")


def test_named_jobs_beside_a_selection_are_read_once(
    run: Run, instance: FakeInstance, case_dir
) -> None:  # type: ignore[no-untyped-def]
    hello = f58(case_dir, "hello")
    args = ("cat", str(parse_jobid(hello)), "-f", "completed", "--stream", "stdout")
    out, _, rc = run(*args)
    assert rc == 0
    # Named once by its decimal id, selected once by -f: read once, as given.
    assert out == alone(case_dir, "hello")


def test_verbose_tells_each_start_and_end(run: Run, instance: FakeInstance, case_dir) -> None:  # type: ignore[no-untyped-def]
    _, err, rc = run("follow", "-A", "-v", "--summary", "json", "--stream", "stdout")
    assert rc == 143
    lines = err.decode().splitlines()
    fails = f58(case_dir, "exit-code")
    assert f"+ {fails}" in lines
    assert f"- {fails} failed (exit 3)" in lines
    assert lines.index(f"+ {fails}") < lines.index(f"- {fails} failed (exit 3)")
    summary = json.loads(lines[-1])
    assert summary["jobs"] == 3
    assert summary["results"] == {"completed": 1, "failed": 1, "canceled": 1}
    assert {f["job"]: f["status"] for f in summary["failed"]} == {
        fails: 3,
        f58(case_dir, "canceled-running"): 143,
    }
    canceled = next(f for f in summary["failed"] if f["result"] == "canceled")
    assert canceled["exception"] == "cancel"


def test_no_job_and_no_selection_is_a_usage_error(run: Run) -> None:
    out, err, rc = run("cat")
    assert (out, rc) == (b"", 2)
    assert err == (
        b"fluxout: no JOB: name one, or select jobs (-a, -A, --filter, --name, --in and more)"
        b" (see fluxout cat --help)\n"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["-f", "bogus"], b"invalid filter 'bogus'"),
        (["--jobs-since", "soon"], b"invalid time 'soon'"),
        (["--name", "("], b"invalid regular expression '('"),
        (["--in", "nope"], b"'nope' is not a jobid"),
        (["-c", "0"], b"-c"),
        (["--user", "no-such-user-here"], b"--user': no such user 'no-such-user-here'"),
    ],
)
def test_bad_selections_are_usage_errors(run: Run, args: list[str], says: bytes) -> None:
    out, err, rc = run("cat", *args)
    assert (out, rc) == (b"", 2)
    assert says in err


# -- jobs inside jobs ---------------------------------------------------------------


@pytest.fixture
def batch(case_dir, monkeypatch: pytest.MonkeyPatch) -> tuple[FakeInstance, str]:  # type: ignore[no-untyped-def]
    inner = FakeInstance("local:///fake/batch")
    inner.add(FakeFlux(case_dir("hello"), start_at=None), "inner-hello")
    inner.add(FakeFlux(case_dir("exit-code"), start_at=None), "inner-fails")
    outer = FakeInstance()
    job = outer.add(FakeFlux(case_dir("label-io"), start_at=None), "batch", inside=inner)
    outer.add(FakeFlux(case_dir("empty-output"), start_at=None), "done-batch")
    monkeypatch.setattr(flux_boundary, "connect", outer.connect)
    monkeypatch.setattr(nested, "_cache", {})
    return outer, format_jobid(job.jobid)


def test_a_jobid_path_reads_the_job_in_the_batch_jobs_instance(run: Run, batch, case_dir) -> None:  # type: ignore[no-untyped-def]
    _, parent = batch
    hello = f58(case_dir, "hello")
    out, err, rc = run("follow", f"{parent}/{hello}", "--stream", "stdout")
    assert (out, err, rc) == (alone(case_dir, "hello"), b"", 0)


def test_in_selects_among_the_batch_jobs_and_names_the_whole_path(
    run: Run, batch, case_dir
) -> None:  # type: ignore[no-untyped-def]
    outer, parent = batch
    out, err, rc = run("follow", "-A", "--in", parent, "--stream", "stdout")
    assert rc == 3
    for case in ("hello", "exit-code"):
        assert by_prefix(out, f"{parent}/{f58(case_dir, case)}") == alone(case_dir, case)
    assert f"  {parent}/{f58(case_dir, 'exit-code')} failed (exit 3)".encode() in err
    assert outer.payloads == []  # the selection was made in the batch job's instance


def test_a_jobid_path_into_a_job_that_is_not_running(run: Run, batch, case_dir) -> None:  # type: ignore[no-untyped-def]
    done = f58(case_dir, "empty-output")
    out, err, rc = run("cat", f"{done}/ƒ2")
    assert (out, rc) == (b"", 1)
    assert err == f"fluxout: {done}/ƒ2: job {done} is not running: its instance is gone\n".encode()


# -- follow --new ---------------------------------------------------------------------


def test_follow_new_picks_up_jobs_submitted_later_until_ctrl_c(
    run: Run, case_dir, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    inst = FakeInstance()
    inst.add(FakeFlux(case_dir("hello"), start_at=None), "first")
    inst.add(FakeFlux(case_dir("exit-code"), start_at=None), "later", appear=2)
    inst.stop_after = 6
    monkeypatch.setattr(flux_boundary, "connect", inst.connect)
    monkeypatch.setattr(watch, "NEW_JOBS_SECONDS", 0.05)
    out, err, rc = run("follow", "--new", "-f", "inactive", "-v", "--stream", "stdout")
    assert rc == 130
    for case in ("hello", "exit-code"):
        assert by_prefix(out, f58(case_dir, case)) == alone(case_dir, case)
    later = f58(case_dir, "exit-code")
    assert f"- {later} failed (exit 3)".encode() in err
    assert b"2 jobs: 1 completed, 1 failed" in err  # the summary, after Ctrl-C too
    # After the first look, each asks for what ended since the last (ids not seen).
    assert all(float(p["since"]) > 0 for p in inst.payloads[1:])  # type: ignore[arg-type]


def test_without_new_follow_ends_with_its_jobs(run: Run, instance: FakeInstance) -> None:
    instance.stop_after = 1  # a second listing would be Ctrl-C
    _, _, rc = run("follow", "-A", "--summary", "never")
    assert rc == 143
    assert instance.listings == 1


@pytest.mark.parametrize(
    ("arg", "ids"),
    [
        ("ƒ2/ƒ3", [parse_jobid("ƒ2"), parse_jobid("ƒ3")]),
        ("f2/123/ƒ4", [parse_jobid("f2"), 123, parse_jobid("ƒ4")]),
        ("ƒ2", None),  # one jobid: not a path
        ("ƒ2/", None),
        ("/ƒ2/ƒ3", None),  # an absolute path is a path
        ("./ƒ2/ƒ3", None),
        ("ƒ2/out", None),  # not every part a jobid: a path
    ],
)
def test_jobid_paths(arg: str, ids: list[int] | None) -> None:
    assert nested.parse_jobid_path(arg) == ids


def test_an_ssh_uri_of_this_host_is_used_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUX_URI_RESOLVE_LOCAL", raising=False)
    monkeypatch.setattr(nested.socket, "gethostname", lambda: "node7.cluster")
    assert nested._local("ssh://node7/tmp/flux-x/local-0") == "local:///tmp/flux-x/local-0"
    assert nested._local("ssh://node8/tmp/flux-x/local-0") == "ssh://node8/tmp/flux-x/local-0"
    monkeypatch.setenv("FLUX_URI_RESOLVE_LOCAL", "1")
    assert nested._local("ssh://node8/tmp/flux-x/local-0") == "local:///tmp/flux-x/local-0"


def test_an_existing_directory_named_like_a_jobid_path_is_a_path(
    run: Run, tmp_path: Path, case_dir, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import shutil

    shutil.copytree(case_dir("hello"), tmp_path / "ƒ2" / "ƒ3")
    monkeypatch.chdir(tmp_path)
    out, err, rc = run("cat", "ƒ2/ƒ3", "--stream", "stdout")
    assert (out, err, rc) == (alone(case_dir, "hello"), b"", 0)
