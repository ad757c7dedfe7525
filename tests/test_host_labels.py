"""--label-by, --hosts, and --coalesce/--split by host, on jobs run on four
fake hosts (tests/data/hosts). The expected bytes are made from what flux
itself wrote: ``flux job attach -l``'s output (every event of these jobs is
one whole line, so fluxout -l gives it byte for byte), with each rank's
label replaced by the host the task said it ran on."""

from __future__ import annotations

import io
import re
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from fluxout.render.terminal import Terminal
from fluxout.sources.flux import boundary as flux_boundary
from fluxout.watch import Request, run
from tests.conftest import FIXTURES, Run
from tests.fakeflux import GUEST, FakeFlux

HOSTS = Path(__file__).parent / "data" / "hosts"
CASES = sorted(p.name for p in HOSTS.iterdir() if (p / "R").is_file())
SAID = re.compile(rb"^(\d+): (?:task|rank) \d+ on (\S+)", re.MULTILINE)
LABELLED = re.compile(rb"^(\d+): (.*\n)", re.MULTILINE)


def truth(case: str) -> dict[int, bytes]:
    """Each task's host, as the task wrote it."""
    return {int(r): h for r, h in SAID.findall((HOSTS / case / "attach-label.stdout").read_bytes())}


def attach_lines(case: str) -> list[tuple[int, bytes]]:
    """(rank, line) of flux job attach -l's stdout, in its order."""
    text = (HOSTS / case / "attach-label.stdout").read_bytes()
    return [(int(r), line) for r, line in LABELLED.findall(text)]


def relabel(case: str, label: Any, keep: Any = lambda rank: True) -> bytes:
    hosts = truth(case)
    return b"".join(
        label(rank, hosts[rank]) + line for rank, line in attach_lines(case) if keep(rank)
    )


@pytest.mark.parametrize("case", CASES)
def test_rank_labels_are_attach_labels(run: Run, case: str) -> None:
    """The premise of the tests below: -l is attach -l on these jobs."""
    out, _, rc = run("cat", "-l", "--stream", "stdout", HOSTS / case)
    assert (out, rc) == ((HOSTS / case / "attach-label.stdout").read_bytes(), 0)


@pytest.mark.parametrize("case", CASES)
def test_label_by_host(run: Run, case: str) -> None:
    out, err, rc = run("cat", "--label-by", "host", "-q", "--stream", "stdout", HOSTS / case)
    assert out == relabel(case, lambda rank, host: host + b": ")
    assert (err, rc) == (b"", 0)


@pytest.mark.parametrize("case", CASES)
def test_label_by_host_rank(run: Run, case: str) -> None:
    out, _, rc = run("cat", "--label-by", "host-rank", "--stream", "stdout", HOSTS / case)
    assert out == relabel(case, lambda rank, host: host + b"[%d]: " % rank)
    assert rc == 0


def test_label_by_rank_is_l(run: Run) -> None:
    assert run("cat", "--label-by", "rank", HOSTS / "n4-t8") == run("cat", "-l", HOSTS / "n4-t8")


def test_stderr_is_labelled_by_host(run: Run) -> None:
    out, err, rc = run("cat", "--label-by", "host", "-q", HOSTS / "n2-t3")
    assert out.startswith(b"node1: task ")
    hosts = truth("n2-t3")
    lines = sorted(err.splitlines())
    assert lines == sorted(hosts[r] + b": err %d" % r for r in hosts)
    assert rc == 0


@pytest.mark.parametrize(
    ("case", "hostlist", "tasks"),
    [
        ("cyclic", "node[3-4]", None),
        ("cyclic", "node[3-4]", "0-6"),
        ("n3-t5", "node2,node3", None),
        ("split-nodes", "node4", None),
        ("n4-t8", "node[1,4]", "1,6"),
    ],
)
def test_hosts_selects_tasks(run: Run, case: str, hostlist: str, tasks: str | None) -> None:
    from fluxout.hostlist import expand
    from fluxout.idset import parse_idset

    wanted = {h.encode() for h in expand(hostlist)}
    ranks = set(range(100)) if tasks is None else set(parse_idset(tasks))
    hosts = truth(case)
    args = ["-t", tasks] if tasks is not None else []
    out, err, rc = run("cat", "-lq", "--hosts", hostlist, *args, "--stream", "stdout", HOSTS / case)
    expected = relabel(
        case, lambda rank, host: b"%d: " % rank, lambda r: hosts[r] in wanted and r in ranks
    )
    assert expected, "the selection is not empty"
    assert (out, err, rc) == (expected, b"", 0)


def test_hosts_that_ran_nothing(run: Run) -> None:
    out, err, rc = run("cat", "--hosts", "node[7-9]", HOSTS / "n2-t3")
    assert out == b""
    assert b"fluxout: " in err and b"--hosts node[7-9] selects no task of the job" in err
    assert b"(its hosts: node[1-2])" in err
    assert rc == 0


@pytest.mark.parametrize(
    ("args", "why"),
    [
        (["--hosts", "node[1-"], b"'[' without ']'"),
        (["--hosts", ""], b"names no host"),
        (["--coalesce", "--label-by", "host-rank"], b"--label-by host-rank"),
        (["--label-by", "nodes"], b"--label-by"),
    ],
)
def test_usage_errors(run: Run, args: list[str], why: bytes) -> None:
    out, err, rc = run("cat", *args, HOSTS / "n4-t8")
    assert (out, rc) == (b"", 2)
    assert err.startswith(b"fluxout: ") and err.count(b"\n") == 1 and why in err


def test_without_r_one_line_and_the_other_jobs_shown(run: Run, tmp_path: Path) -> None:
    job = tmp_path / "job"
    shutil.copytree(HOSTS / "n4-t8", job)
    (job / "R").unlink()
    out, err, rc = run("cat", "--label-by", "host", job, HOSTS / "n2-t3")
    assert rc == 1
    assert err.count(b"fluxout: ") == 1
    assert f"--label-by host needs the job's resource set R: there is no {job}/R".encode() in err
    assert b"flux job info JOBID R > DIR/R" in err
    # The other job is shown, labelled by host (its job name before each line).
    assert b"n2-t3: node2: task 2 on node2\n" in out
    assert b"task 0 on node1 says hi" not in out


def test_a_lone_eventlog_has_no_r(run: Run) -> None:
    out, err, rc = run("cat", "--hosts", "node1", HOSTS / "n4-t8" / "output.eventlog")
    assert (out, rc) == (b"", 1)
    assert err == (
        b"fluxout: output.eventlog: --hosts needs the job's resource set R, which a lone "
        b"eventlog does not hold: read the job's directory, with R in it (flux job info "
        b"JOBID R > DIR/R saves it)\n"
    )


def test_follow_of_a_lone_eventlog_does_not_wait_for_ever(run: Run) -> None:
    out, err, rc = run("follow", "--label-by", "host", HOSTS / "n4-t8" / "output.eventlog")
    assert (out, rc) == (b"", 1)
    assert b"needs the job's resource set R" in err


def test_no_taskmap(run: Run, tmp_path: Path) -> None:
    job = tmp_path / "job"
    shutil.copytree(HOSTS / "n4-t8", job)
    lines = (job / "exec.eventlog").read_bytes().splitlines(keepends=True)
    (job / "exec.eventlog").write_bytes(b"".join(x for x in lines if b"shell.start" not in x))
    out, err, rc = run("cat", "--label-by", "host", job)
    assert (out, rc) == (b"", 1)
    assert err.endswith(
        b"--label-by host needs the job shell's taskmap (the exec eventlog's "
        b"shell.start event): the exec eventlog has none\n"
    )


def test_a_job_that_wrote_nothing_needs_no_hosts(run: Run, tmp_path: Path) -> None:
    """command-not-found: no shell.start, only the shell's messages, as they are."""
    job = tmp_path / "job"
    shutil.copytree(FIXTURES / "command-not-found", job)
    plain = run("follow", job)
    assert run("follow", "--label-by", "host", job) == plain
    assert plain[2] == 127


def test_coalesce_by_host(run: Run) -> None:
    """dshbak -c: the hosts whose tasks wrote the same lines, as one hostlist."""
    out, err, rc = run("cat", "--coalesce", "--label-by", "host", "--grep", "same", HOSTS / "n4-t8")
    rule = b"-" * 16 + b"\n"
    assert out == rule + b"node[1-4]\n" + rule + b"same line\n" * 2
    assert (err, rc) == (b"", 0)


@pytest.mark.parametrize("case", ["n3-t5", "cyclic", "n4-t8"])
def test_coalesce_by_host_blocks(run: Run, case: str) -> None:
    out, _, rc = run("cat", "--coalesce", "--label-by", "host", "--stream", "stdout", HOSTS / case)
    hosts = truth(case)
    blocks: dict[bytes, list[bytes]] = defaultdict(list)
    for rank, line in attach_lines(case):
        blocks[hosts[rank]].append(line)
    rule = b"-" * 16 + b"\n"
    expected = b"".join(rule + h + b"\n" + rule + b"".join(blocks[h]) for h in sorted(blocks))
    assert (out, rc) == (expected, 0)


def test_follow_coalesce_by_host(run: Run) -> None:
    out, _, rc = run(
        "follow", "--coalesce", "--label-by", "host", "--grep", "same", HOSTS / "n4-t8"
    )
    assert (out, rc) == (b"node[1-4]: same line\n" * 2, 0)


@pytest.mark.parametrize("case", ["n4-t8", "cyclic", "n2-t3"])
def test_split_by_host(run: Run, tmp_path: Path, case: str) -> None:
    out, err, rc = run("cat", "--split", tmp_path, "--label-by", "host", HOSTS / case)
    assert (out, rc) == (b"", 0)
    hosts = truth(case)
    files: dict[str, bytes] = defaultdict(bytes)
    for rank, line in attach_lines(case):
        files[hosts[rank].decode() + ".out"] += line
    written = {p.name: p.read_bytes() for p in (tmp_path / case).iterdir()}
    assert {n: b for n, b in written.items() if n.endswith(".out")} == files
    assert {n for n in written if n.endswith(".err")} == {n[:-4] + ".err" for n in files}
    assert f"wrote {len(written)} files".encode() in err


def test_split_by_host_rank(run: Run, tmp_path: Path) -> None:
    run("cat", "--split", tmp_path, "--label-by", "host-rank", HOSTS / "split-nodes")
    names = sorted(p.name for p in (tmp_path / "split-nodes").iterdir())
    assert names == sorted(
        f"node{h}[{r}].{s}" for r, h in enumerate("2244") for s in ("out", "err")
    )


def _ansi_labels(out: bytes) -> dict[bytes, set[bytes]]:
    """host -> the colour codes its labels were painted with."""
    painted = re.findall(rb"^(\x1b\[[0-9;]*m)(node\d+): \x1b\[0m", out, re.MULTILINE)
    found: dict[bytes, set[bytes]] = defaultdict(set)
    for code, host in painted:
        found[host].add(code)
    return found


def test_label_colour_follows_the_host(run: Run) -> None:
    out, _, _ = run("cat", "--color=always", "--label-by", "host", HOSTS / "n4-t8")
    colours = _ansi_labels(out)
    assert sorted(colours) == [b"node1", b"node2", b"node3", b"node4"]
    assert all(len(codes) == 1 for codes in colours.values()), colours  # both tasks of a host
    assert len({next(iter(c)) for c in colours.values()}) == 4  # neighbours differ


# -- live, through the fake Flux boundary -------------------------------------


def _live(monkeypatch: pytest.MonkeyPatch, fake: FakeFlux, command: str, **options: Any) -> Any:
    monkeypatch.setattr(flux_boundary, "connect", lambda uri, name: fake)
    term = Terminal(io.BytesIO(), io.BytesIO(), False, False, False, {})
    rc = run(Request(command, [fake.f58], **options), term)
    assert isinstance(term.stdout, io.BytesIO) and isinstance(term.stderr, io.BytesIO)
    assert fake.hazards == []
    return term.stdout.getvalue(), term.stderr.getvalue(), rc, fake.calls


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize(("command", "start_at"), [("cat", None), ("follow", 0.0)])
def test_live_host_labels(
    monkeypatch: pytest.MonkeyPatch, run: Run, case: str, command: str, start_at: float | None
) -> None:
    """The job's R comes from the KVS (job.<id>.R), read once; follow, from
    before the job started, holds the output until shell.start says where
    the tasks are."""
    fake = FakeFlux(HOSTS / case, start_at=start_at, scale=0.0 if start_at is None else 0.002)
    out, _, rc, calls = _live(
        monkeypatch,
        fake,
        command,
        label=True,
        label_by="host",
        follow=command == "follow",
        streams=frozenset({"stdout"}),
    )
    assert out == relabel(case, lambda rank, host: host + b": ")
    assert rc == 0
    assert [c for c in calls if c[1].endswith(".R")] == [("lookup", f"{fake.kvs}.R")]


def test_live_r_through_job_info(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the instance owner: the primary namespace is denied, job-info gives R."""
    fake = FakeFlux(HOSTS / "cyclic", start_at=None, user=GUEST)
    out, _, rc, calls = _live(
        monkeypatch, fake, "cat", label=True, label_by="host", streams=frozenset({"stdout"})
    )
    assert (out, rc) == (relabel("cyclic", lambda rank, host: host + b": "), 0)
    assert ("job_info_lookup", "R") in calls


def test_live_without_r(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeFlux(FIXTURES / "hello", start_at=None)
    out, err, rc, _ = _live(monkeypatch, fake, "cat", label=True, label_by="host")
    assert (out, rc) == (b"", 1)
    assert err.endswith(
        b"--label-by host needs the job's resource set R, which the job does not have "
        b"(it was never allocated)\n"
    )


def test_lines_format_host(run: Run) -> None:
    out, err, rc = run(
        "lines", "--format", "{host:>6}|{rank}|{line}", "--grep", "task", HOSTS / "cyclic"
    )
    hosts = truth("cyclic")
    expected = b"".join(
        b"%6s|%d|%s" % (hosts[rank], rank, line) for rank, line in attach_lines("cyclic")
    )
    assert (out, err, rc) == (expected, b"", 0)


def test_lines_format_host_without_r(run: Run) -> None:
    out, err, rc = run("lines", "--format", "{host} {line}", FIXTURES / "hello")
    assert (out, rc) == (b"", 1)
    assert b"--format {host} needs the job's resource set R: there is no " in err


def test_lines_hosts(run: Run) -> None:
    out, _, rc = run("lines", "--json", "--hosts", "node4", HOSTS / "split-nodes")
    assert rc == 0
    assert [b'"rank":2' in x or b'"rank":3' in x for x in out.splitlines()] == [True, True]


@pytest.mark.parametrize(
    ("options", "data", "lane"),
    [
        # Host labels take the labelled fast lane, as rank labels do.
        ({"label": True, "label_by": "host"}, "lines", "labelled"),
        ({"label": True, "label_by": "host-rank", "timestamps": "rel"}, "lines", "labelled:rel"),
        ({"hosts": ("node1",)}, "raw", "raw"),
        # By host, a host's tasks' lines are assembled first, never mixed in mid-line.
        ({"coalesce": True, "label_by": "host"}, "lines", None),
        ({"coalesce": True, "label_by": "rank"}, "blocks", "blocks"),
        ({"split": Path("d"), "label_by": "host"}, "lines", None),
        ({"split": Path("d")}, "split", None),
    ],
)
def test_plan(options: dict[str, Any], data: str, lane: str | None) -> None:
    from fluxout.plan import Plan

    plan = Plan.of(Request("cat", ["job"], **options), several=False)
    assert (plan.data, plan.lane) == (data, lane)


def test_host_labels_stay_on_the_fast_lane(monkeypatch: pytest.MonkeyPatch, run: Run) -> None:
    """As many lines take the careful path with host labels as with rank
    labels (each task's first event, to learn its route; its eof)."""
    from fluxout.job import JobOutput

    careful = JobOutput._careful
    calls: list[int] = []

    def counted(self: JobOutput, lineno: int, line: bytes) -> None:
        calls.append(lineno)
        careful(self, lineno, line)

    monkeypatch.setattr(JobOutput, "_careful", counted)
    counts = []
    for how in (["-l"], ["--label-by", "host"], ["--label-by", "host-rank"]):
        calls.clear()
        show = run("cat", *how, "--stream", "stdout", HOSTS / "many-lines")
        assert show[2] == 0 and show[0].count(b"\n") == 4 * 500
        counts.append(len(calls))
    assert counts[0] == counts[1] == counts[2] < 50


@pytest.mark.parametrize(
    ("how", "names", "last"),
    [
        ([], ["1.err", "1.out", "5.err", "5.out"], (5,)),
        (["--label-by", "host"], ["node2.err", "node2.out"], (1, 5)),
    ],
)
def test_split_hosts_files_only_for_their_tasks(
    run: Run, tmp_path: Path, how: list[str], names: list[str], last: tuple[int, ...]
) -> None:
    """Every selected task gets its files, even empty; the others none."""
    run("cat", "--split", tmp_path, "--hosts", "node2", "-q", *how, HOSTS / "cyclic")
    assert sorted(p.name for p in (tmp_path / "cyclic").iterdir()) == names
    assert (tmp_path / "cyclic" / names[-1]).read_bytes() == b"".join(
        line for rank, line in attach_lines("cyclic") if rank in last
    )
