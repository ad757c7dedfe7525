"""Each task's host from R and the taskmap (fluxout.hosts), on jobs run in
a real instance with fake hostnames (tests/data/hosts: each task says
which host it ran on, as ``flux getattr hostname`` told it)."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from fluxout.hostlist import compress
from fluxout.hosts import HostMap, HostsError, job_hosts, task_nodes

HOSTS = Path(__file__).parent / "data" / "hosts"
CASES = sorted(p.name for p in HOSTS.iterdir() if (p / "R").is_file())
SAID = re.compile(rb"^\d+: (?:task|rank) (\d+) on (\S+)", re.MULTILINE)


def taskmap(case: str) -> object:
    for line in (HOSTS / case / "exec.eventlog").read_bytes().splitlines():
        event = orjson.loads(line)
        if event["name"] == "shell.start":
            return event["context"]["taskmap"]
    raise AssertionError("no shell.start")


def said(case: str) -> dict[int, str]:
    """Each task's host, as the task itself wrote it (attach -l's output)."""
    text = (HOSTS / case / "attach-label.stdout").read_bytes()
    return {int(rank): host.decode() for rank, host in SAID.findall(text)}


@pytest.mark.parametrize("case", CASES)
def test_each_task_is_on_the_host_it_said(case: str) -> None:
    hosts = HostMap.of((HOSTS / case / "R").read_bytes(), taskmap(case))
    truth = said(case)
    assert truth, "the case's tasks say where they ran"
    assert {rank: hosts.host(rank) for rank in truth} == truth
    assert len(hosts.nodes) == len(truth)


@pytest.mark.parametrize("case", CASES)
def test_the_nodelist_is_flux_jobs_nodelist(case: str) -> None:
    """flux jobs -no {nodelist}, saved beside the job."""
    hosts = job_hosts((HOSTS / case / "R").read_bytes())
    assert compress(hosts) == (HOSTS / case / "nodelist").read_text().strip()


@pytest.mark.parametrize("case", CASES)
def test_hostpids_has_a_pid_per_task(case: str) -> None:
    # flux job hostpids names the shells' real host (not the fake one), in task order.
    pairs = (HOSTS / case / "hostpids").read_text().strip().split(",")
    assert len(pairs) == len(taskmap_nodes := task_nodes(taskmap(case)))
    assert taskmap_nodes


def test_cyclic_taskmap() -> None:
    assert task_nodes({"version": 1, "map": [[0, 4, 1, 2]]}) == [0, 1, 2, 3, 0, 1, 2, 3]


def test_uneven_taskmap() -> None:
    assert task_nodes({"version": 1, "map": [[0, 1, 2, 1], [1, 1, 1, 1]]}) == [0, 0, 1]


def test_tasks_on_and_hostlist() -> None:
    r = {"execution": {"R_lite": [{"rank": "1,3"}], "nodelist": ["node[2,4]"]}}
    hosts = HostMap.of(r, {"map": [[0, 2, 2, 1]]})
    assert list(hosts.tasks_on(["node4"])) == [2, 3]
    assert hosts.hostlist([3, 0, 1]) == "node[2,4]"
    assert hosts.host(4) is None


@pytest.mark.parametrize(
    ("r", "tm", "why"),
    [
        (b"nope", {"map": []}, "R is not JSON"),
        (b"{}", {"map": []}, "no execution"),
        (b'{"execution": {}}', {"map": []}, "no execution.nodelist"),
        (b'{"execution": {"nodelist": ["n[1-"]}}', {"map": []}, "nodelist"),
        (
            b'{"execution": {"R_lite": [{"rank": "0-2"}], "nodelist": ["n[1-2]"]}}',
            {"map": []},
            "3 ranks but 2 hosts",
        ),
        (b'{"execution": {"nodelist": ["n1"]}}', {"map": [[1, 1, 1, 1]]}, "node 1"),
        (b'{"execution": {"nodelist": ["n1"]}}', {"map": [[0, 1]]}, "is not [nodeid"),
        (b'{"execution": {"nodelist": ["n1"]}}', {}, "no map"),
        (b'{"execution": {"nodelist": ["n1"]}}', {"map": [[0, 1, 1 << 30, 1]]}, "more than"),
    ],
)
def test_bad_r_or_taskmap(r: bytes, tm: object, why: str) -> None:
    with pytest.raises(HostsError, match=re.escape(why)):
        HostMap.of(r, tm)
