"""--split DIR on hostile input: every path stays below DIR, no symlink is
followed, an earlier run's files are refused (or replaced with --force),
many ranks never reopen files, and a failed write is named and contained."""

from __future__ import annotations

import errno
import io
import os
import resource
from pathlib import Path

import pytest

from fluxout.render import split as split_mod
from fluxout.render.split import OpenFiles, raise_nofile_limit
from fluxout.render.terminal import Terminal
from fluxout.watch import Request, run, split_job_name
from tests.conftest import Run
from tests.test_features import write_eventlog

HELLO = [("stdout", "0", "zero\n"), ("stdout", "1", "one\n"), ("stderr", "1", "oops\n")]
STDOUT = frozenset(("stdout",))
HELLO_FILES = {"0.out": b"zero\n", "0.err": b"", "1.out": b"one\n", "1.err": b"oops\n"}


def job(
    tmp_path: Path, name: str = "hello", data: list[tuple[str, str, str]] = HELLO, ntasks: int = 2
) -> Path:
    """A job directory holding output.eventlog, with ntasks tasks."""
    d = tmp_path / name
    d.mkdir(parents=True)
    write_eventlog(d / "output.eventlog", data, ntasks)
    return d


def files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir()}


def cat_split(
    jobs: list[str],
    directory: Path,
    force: bool = False,
    command: str = "cat",
    streams: frozenset[str] = frozenset(("stdout", "stderr")),
) -> tuple[bytes, int]:
    """cat (or follow) --split in-process: (stderr, status)."""
    out, err = io.BytesIO(), io.BytesIO()
    request = Request(
        command, jobs, split=directory, force=force, follow=command == "follow", streams=streams
    )
    status = run(request, Terminal(out, err, False, False, False, {}))
    assert out.getvalue() == b""
    return err.getvalue(), status


# -- the job level is one safe component ----------------------------------


def test_dotdot_job_writes_below_dir(tmp_path: Path, run: Run, monkeypatch) -> None:
    d = job(tmp_path, "job")
    (d / "sub").mkdir()
    monkeypatch.chdir(d / "sub")
    _, err, rc = run("cat", "--split", "../../out", "..")
    assert rc == 0, err
    assert files(tmp_path / "out" / "job") == HELLO_FILES
    assert os.listdir(tmp_path / "out") == ["job"]
    assert not list(tmp_path.glob("*.out"))  # the old code wrote out/../0.out


@pytest.mark.parametrize("arg", [".", "./", "../job/", "../job/."])
def test_dot_and_trailing_slash_jobs_get_the_directory_name(
    arg: str, tmp_path: Path, run: Run, monkeypatch
) -> None:
    d = job(tmp_path, "job")
    monkeypatch.chdir(d)
    _, err, rc = run("cat", "--split", tmp_path / "out", arg)
    assert rc == 0, err
    assert os.listdir(tmp_path / "out") == ["job"]
    assert files(tmp_path / "out" / "job") == HELLO_FILES


def test_stdin_job_is_named_stdin(tmp_path: Path, run: Run) -> None:
    log = write_eventlog(tmp_path / "log", HELLO, 2)
    _, err, rc = run("cat", "--split", tmp_path / "out", "-", stdin=log.read_bytes())
    assert rc == 0, err
    assert files(tmp_path / "out" / "stdin") == HELLO_FILES


@pytest.mark.parametrize(
    ("arg", "name"),
    [("-", "stdin"), ("ƒ2BC", "ƒ2BC"), ("a/b/", "b"), ("/", "job"), ("a/..", None)],
)
def test_split_job_name_is_one_component(arg: str, name: str | None) -> None:
    got = split_job_name(arg)
    assert got not in ("", ".", "..") and "/" not in got
    assert got == (name if name is not None else Path(arg).resolve().name)


def test_empty_split_dir_is_a_usage_error(tmp_path: Path, run: Run, monkeypatch) -> None:
    d = job(tmp_path)
    monkeypatch.chdir(tmp_path)
    _, err, rc = run("cat", "--split", "", d)
    assert rc == 2
    assert err == (
        b"fluxout: invalid value for '--split': the directory must not be empty"
        b" (see fluxout cat --help)\n"
    )
    assert sorted(os.listdir(d)) == ["output.eventlog"]


# -- symlinks below DIR are never followed ---------------------------------


def test_symlinked_file_is_not_truncated(tmp_path: Path, run: Run) -> None:
    d = job(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    (tmp_path / "out" / "hello").mkdir(parents=True)
    (tmp_path / "out" / "hello" / "0.out").symlink_to(victim)
    _, err, rc = run("cat", "--split", tmp_path / "out", d)
    assert rc == 1
    assert err.count(b"\n") == 1 and err.startswith(b"fluxout: %s/out/hello: " % bytes(tmp_path))
    assert victim.read_bytes() == b"precious\n"


def test_force_unlinks_a_symlinked_file_and_never_writes_through_it(
    tmp_path: Path, run: Run
) -> None:
    d = job(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    (tmp_path / "out" / "hello").mkdir(parents=True)
    (tmp_path / "out" / "hello" / "0.out").symlink_to(victim)
    _, err, rc = run("cat", "--force", "--split", tmp_path / "out", d)
    assert rc == 0, err
    assert victim.read_bytes() == b"precious\n"
    assert not (tmp_path / "out" / "hello" / "0.out").is_symlink()
    assert files(tmp_path / "out" / "hello") == HELLO_FILES


def test_force_replaces_a_hard_link_instead_of_writing_into_it(tmp_path: Path) -> None:
    d = job(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious\n")
    (tmp_path / "out" / "hello").mkdir(parents=True)
    os.link(victim, tmp_path / "out" / "hello" / "0.out")
    err, status = cat_split([str(d)], tmp_path / "out", force=True)
    assert status == 0, err
    assert victim.read_bytes() == b"precious\n"
    assert files(tmp_path / "out" / "hello") == HELLO_FILES


def test_symlinked_job_dir_is_refused(tmp_path: Path, run: Run) -> None:
    d = job(tmp_path)
    target = tmp_path / "elsewhere"
    target.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "hello").symlink_to(target)
    for force in ([], ["--force"]):
        _, err, rc = run("cat", *force, "--split", tmp_path / "out", d)
        assert rc == 1
        assert err == b"fluxout: %s/out/hello: is a symlink (not followed)\n" % bytes(tmp_path)
        assert os.listdir(target) == []


def test_job_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    d = job(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "hello").write_bytes(b"x")
    err, status = cat_split([str(d)], tmp_path / "out")
    assert status == 1
    assert err == b"fluxout: %s/out/hello: not a directory\n" % bytes(tmp_path)


# -- an earlier run's files ------------------------------------------------


def test_non_empty_job_dir_is_refused_before_writing(tmp_path: Path, run: Run) -> None:
    d = job(tmp_path)
    jobdir = tmp_path / "out" / "hello"
    jobdir.mkdir(parents=True)
    (jobdir / "99.out").write_bytes(b"stale\n")
    _, err, rc = run("cat", "--split", tmp_path / "out", d)
    assert rc == 1
    assert err == (
        b"fluxout: %s: not empty: use --force to replace its files, or another DIR\n"
        % bytes(jobdir)
    )
    assert files(jobdir) == {"99.out": b"stale\n"}


def test_force_replaces_and_counts_what_it_left(tmp_path: Path, run: Run) -> None:
    d = job(tmp_path)
    jobdir = tmp_path / "out" / "hello"
    jobdir.mkdir(parents=True)
    (jobdir / "99.out").write_bytes(b"stale\n")
    (jobdir / "0.out").write_bytes(b"old output, longer than the new\n")
    _, err, rc = run("cat", "--force", "--split", tmp_path / "out", d)
    assert rc == 0, err
    assert files(jobdir) == {**HELLO_FILES, "99.out": b"stale\n"}
    assert err.splitlines() == [
        b"fluxout: wrote 4 files to %s/" % bytes(jobdir),
        b"fluxout: %s: left 1 file of an earlier run untouched" % bytes(jobdir),
    ]


def test_one_file_is_singular(tmp_path: Path) -> None:
    d = job(tmp_path, data=[("stdout", "0", "zero\n")], ntasks=1)
    err, status = cat_split([str(d)], tmp_path / "out", streams=STDOUT)
    assert status == 0
    assert err == b"fluxout: wrote 1 file to %s/out/hello/\n" % bytes(tmp_path)


# -- many ranks: open files in an LRU --------------------------------------


def test_many_ranks_open_each_file_once(tmp_path: Path, monkeypatch) -> None:
    ranks = 600  # more than the 256 files the old code kept open
    data = [("stdout", str(r), f"{r} line {i}\n") for i in range(3) for r in range(ranks)]
    d = job(tmp_path, data=data, ntasks=ranks)
    opened: list[str] = []
    real_open = os.open

    def counting_open(path, flags, *args, **kw):  # type: ignore[no-untyped-def]
        if kw.get("dir_fd") is not None:
            opened.append(path)
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(split_mod.os, "open", counting_open)
    monkeypatch.setattr(split_mod.shared_files(), "capacity", 4096)
    err, status = cat_split([str(d)], tmp_path / "out", streams=STDOUT)
    assert status == 0, err
    assert sorted(opened) == sorted(["hello", *(f"{r}.out" for r in range(ranks))])
    want = {f"{r}.out": b"".join(b"%d line %d\n" % (r, i) for i in range(3)) for r in range(ranks)}
    assert files(tmp_path / "out" / "hello") == want


def test_lru_reopens_for_append_and_keeps_the_bytes(tmp_path: Path, monkeypatch) -> None:
    data = [("stdout", str(r), f"{r}.{i}\n") for i in range(4) for r in range(2)]
    d = job(tmp_path, data=data)
    monkeypatch.setattr(split_mod, "FLUSH_AT", 1)  # one write per event
    monkeypatch.setattr(split_mod.shared_files(), "capacity", 1)
    err, status = cat_split([str(d)], tmp_path / "out", streams=STDOUT)
    assert status == 0, err
    assert files(tmp_path / "out" / "hello") == {
        "0.out": b"0.0\n0.1\n0.2\n0.3\n",
        "1.out": b"1.0\n1.1\n1.2\n1.3\n",
    }


def test_lru_evicts_only_the_least_recently_used(tmp_path: Path) -> None:
    lru = OpenFiles(2)
    fds = [os.open(tmp_path, os.O_RDONLY) for _ in range(3)]
    lru.add((0, "a"), fds[0])
    lru.add((0, "b"), fds[1])
    assert lru.get((0, "a")) == fds[0]  # b is now the least recently used
    lru.add((0, "c"), fds[2])
    assert lru.get((0, "b")) is None
    assert lru.get((0, "a")) == fds[0] and lru.get((0, "c")) == fds[2]
    with pytest.raises(OSError):
        os.fstat(fds[1])  # closed by the eviction
    lru.close_owner(0)
    assert lru.get((0, "a")) is None


def test_nofile_limit_is_raised_toward_the_hard_limit(monkeypatch) -> None:
    calls: list[tuple[int, int]] = []
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 524288))
    monkeypatch.setattr(resource, "setrlimit", lambda _, limits: calls.append(limits))
    assert raise_nofile_limit() == 524288
    assert calls == [(524288, 524288)]


def test_nofile_limit_kept_when_it_cannot_be_raised(monkeypatch) -> None:
    def refuse(_: int, limits: tuple[int, int]) -> None:
        raise ValueError("not allowed")

    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 4096))
    monkeypatch.setattr(resource, "setrlimit", refuse)
    assert raise_nofile_limit() == 1024


# -- a failed write --------------------------------------------------------


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("command", ["cat", "follow"])
def test_full_disk_names_the_file_closes_all_and_goes_on(
    command: str, tmp_path: Path, monkeypatch
) -> None:
    data = [("stdout", str(r), f"task {r}\n") for r in range(4)]
    first = job(tmp_path / "a", "full", data, ntasks=4)
    second = job(tmp_path / "b", "fine", data, ntasks=4)
    real_write = os.write

    def full_disk(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith("/full/3.out"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(split_mod.os, "write", full_disk)
    before = open_fds()
    err, status = cat_split(
        [str(first), str(second)], tmp_path / "out", command=command, streams=STDOUT
    )
    assert status == 1
    assert err.splitlines() == [
        b"fluxout: %s/out/full/3.out: cannot write: No space left on device" % bytes(tmp_path),
        b"fluxout: wrote 4 files to %s/out/fine/" % bytes(tmp_path),
    ]
    assert open_fds() == before
    assert files(tmp_path / "out" / "fine") == {f"{r}.out": b"task %d\n" % r for r in range(4)}


# -- every selected task gets its files; a failed mkdir names its path -------


def test_every_selected_task_gets_both_files_even_empty(tmp_path: Path) -> None:
    """As srun --output=%t: a task that wrote nothing to a stream still has
    its file, so `ls DIR/JOB` shows every task."""
    d = job(tmp_path, data=[("stdout", "0", "zero\n")], ntasks=3)
    err, status = cat_split([str(d)], tmp_path / "out")
    assert status == 0, err
    assert files(tmp_path / "out" / "hello") == {
        "0.out": b"zero\n",
        "0.err": b"",
        "1.out": b"",
        "1.err": b"",
        "2.out": b"",
        "2.err": b"",
    }
    assert err == b"fluxout: wrote 6 files to %s/out/hello/\n" % bytes(tmp_path)


def test_empty_files_only_for_the_selected_tasks_and_streams(tmp_path: Path, run: Run) -> None:
    d = job(tmp_path, data=[("stdout", "0", "zero\n")], ntasks=3)
    _, err, rc = run("cat", "--split", tmp_path / "out", "-t", "1-2", "--stream", "stderr", d)
    assert rc == 0, err
    assert files(tmp_path / "out" / "hello") == {"1.err": b"", "2.err": b""}


def test_a_header_of_a_million_tasks_makes_no_million_empty_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(split_mod, "MAX_EMPTY_FILES", 5)  # 3 tasks: 6 files, one too many
    d = job(tmp_path, data=[("stdout", "0", "zero\n")], ntasks=3)
    err, status = cat_split([str(d)], tmp_path / "out")
    assert status == 0, err
    assert files(tmp_path / "out" / "hello") == {"0.out": b"zero\n"}


def test_a_failed_mkdir_names_the_path_at_fault(tmp_path: Path, run: Run) -> None:
    (tmp_path / "afile").write_bytes(b"")
    d = job(tmp_path)
    _, err, rc = run("cat", "--split", tmp_path / "afile" / "out" / "deeper", d)
    assert rc == 1
    assert err.splitlines()[0] == b"fluxout: %s/afile: not a directory" % bytes(tmp_path)
