"""Several jobs never collide: distinct prefixes and --split directories."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fluxout.names import job_names
from tests.conftest import Run, run_in_process


@pytest.fixture
def two_hellos(tmp_path: Path, case_dir, monkeypatch: pytest.MonkeyPatch) -> Path:  # type: ignore[no-untyped-def]
    for parent in ("a", "b"):
        shutil.copytree(case_dir("hello"), tmp_path / parent / "hello")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_same_last_component_gets_the_shortest_distinguishing_suffix(two_hellos: Path) -> None:
    names = job_names(["a/hello", "b/hello"])
    assert [n.prefix for n in names] == ["a/hello", "b/hello"]
    assert [n.directory for n in names] == ["a-hello", "b-hello"]


def test_a_unique_name_stays_short(two_hellos: Path) -> None:
    (two_hellos / "c").mkdir()
    shutil.copytree(two_hellos / "a" / "hello", two_hellos / "c" / "other")
    names = job_names(["a/hello", "c/other", "b/hello"])
    assert [n.prefix for n in names] == ["a/hello", "other", "b/hello"]


def test_deeper_suffix_when_the_parents_share_a_name(tmp_path: Path, case_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for parent in ("x/run", "y/run"):
        shutil.copytree(case_dir("hello"), tmp_path / parent / "hello")
    monkeypatch.chdir(tmp_path)
    names = job_names(["x/run/hello", "y/run/hello"])
    assert [n.prefix for n in names] == ["x/run/hello", "y/run/hello"]
    assert [n.directory for n in names] == ["x-run-hello", "y-run-hello"]


def test_one_job_twice_is_numbered(two_hellos: Path) -> None:
    names = job_names(["a/hello", "a/hello", "b/hello"])
    assert [n.prefix for n in names] == ["a/hello", "a/hello", "b/hello"]
    assert [n.directory for n in names] == ["a-hello", "a-hello.2", "b-hello"]


def test_jobids_keep_their_spelling_and_a_jobid_path_is_one_name() -> None:
    names = job_names(["ƒJP8adV", "ƒ2/ƒ3", "ƒJP8adV"])
    assert [n.prefix for n in names] == ["ƒJP8adV", "ƒ2/ƒ3", "ƒJP8adV"]
    assert [n.directory for n in names] == ["ƒJP8adV", "ƒ2-ƒ3", "ƒJP8adV.2"]


def test_a_directory_named_like_a_number_does_not_take_a_neighbours_name(
    tmp_path, case_dir, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    shutil.copytree(case_dir("hello"), tmp_path / "hello.2")
    shutil.copytree(case_dir("hello"), tmp_path / "hello")
    monkeypatch.chdir(tmp_path)
    dirs = [n.directory for n in job_names(["hello", "hello", "hello.2"])]
    assert len(set(dirs)) == 3
    assert dirs[2] == "hello.2"


def test_split_of_two_hellos_writes_both(run: Run, two_hellos: Path, case_dir) -> None:  # type: ignore[no-untyped-def]
    out, err, rc = run("cat", "a/hello", "b/hello", "--split", "out")
    assert rc == 0
    assert out == b""
    assert (
        err == b"fluxout: wrote 8 files to out/a-hello/\nfluxout: wrote 8 files to out/b-hello/\n"
    )
    expected = case_dir("hello") / "expected"
    for job in ("a-hello", "b-hello"):
        files = sorted(p.name for p in (two_hellos / "out" / job).iterdir())
        assert len(files) == 8
        assert (two_hellos / "out" / job / "0.out").read_bytes() == (
            expected / "stdout.0"
        ).read_bytes()


def test_prefixes_of_two_hellos_differ(run: Run, two_hellos: Path) -> None:
    out, err, rc = run("cat", "--stream", "stdout", "a/hello", "b/hello")
    assert err == b""
    assert rc == 0
    lines = out.splitlines()
    assert len(lines) == 24
    assert sum(line.startswith(b"a/hello: ") for line in lines) == 12
    assert sum(line.startswith(b"b/hello: ") for line in lines) == 12


def test_on_a_terminal_several_jobs_end_with_a_summary_table(case_dir) -> None:  # type: ignore[no-untyped-def]
    from tests.test_cli_tty import run_in_pty

    args = ["cat", "--stream", "stderr", "-t", "0", "--color", "never"]
    out, rc = run_in_pty([*args, str(case_dir("hello")), str(case_dir("exit-code"))])
    assert rc == 0  # cat: the jobs' own statuses are in the table
    text = out.decode()
    table = text[text.index("2 jobs") :].splitlines()
    assert table[1].split() == ["completed", "failed"]
    assert table[2].split() == ["1", "1"]
    assert table[3].split() == ["job", "result", "exit", "first", "exception"]
    assert table[4].split() == ["exit-code", "failed", "3"]
    # In a pipe, several named jobs end as before: no summary.
    _, err, _ = run_in_process(*args, case_dir("hello"), case_dir("exit-code"))
    assert b"jobs" not in err
