"""Where each task ran: the job's resource set (R) and the shell's taskmap.

R (RFC 20) names the job's execution ranks in ``execution.R_lite`` and
their hosts in ``execution.nodelist`` (hostlists, one host per rank in
rank order). The job shell's ``shell.start`` event (exec eventlog) holds
the taskmap (RFC 34): ``[[nodeid, nnodes, ppn, repeat], ...]``, where
nodeid counts the job's nodes in that order. Together they give each task
rank its host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from fluxout.hostlist import HostlistError, compress, expand
from fluxout.idset import IdSet, IdsetError, parse_idset

__all__ = ["HostMap", "HostsError", "job_hosts", "task_nodes"]

# A taskmap may not claim more tasks than this (a crafted one would
# otherwise make fluxout build a list of any size).
MAX_TASKS = 1 << 24


class HostsError(ValueError):
    """R or a taskmap that cannot be read."""


def job_hosts(r: bytes | str | Mapping[str, Any]) -> list[str]:
    """The job's hosts, in the order of its execution ranks (node ids)."""
    try:
        doc = orjson.loads(r) if isinstance(r, (bytes, str)) else r
    except orjson.JSONDecodeError as exc:
        raise HostsError(f"R is not JSON ({exc})") from None
    execution = doc.get("execution") if isinstance(doc, Mapping) else None
    if not isinstance(execution, Mapping):
        raise HostsError("R has no execution object")
    nodelist = execution.get("nodelist")
    if not isinstance(nodelist, list) or not all(isinstance(h, str) for h in nodelist):
        raise HostsError("R has no execution.nodelist")
    try:
        hosts = [host for part in nodelist for host in expand(part)]
    except HostlistError as exc:
        raise HostsError(f"R's nodelist: {exc}") from None
    count = _rank_count(execution.get("R_lite"))
    if count is not None and count != len(hosts):
        raise HostsError(f"R names {count} ranks but {len(hosts)} hosts")
    return hosts


def _rank_count(r_lite: object) -> int | None:
    """How many execution ranks R_lite holds (None when it says nothing usable)."""
    if not isinstance(r_lite, list):
        return None
    ranks: set[int] = set()
    for entry in r_lite:
        rank = entry.get("rank") if isinstance(entry, Mapping) else None
        if not isinstance(rank, str):
            return None
        try:
            ranks.update(parse_idset(rank))
        except IdsetError:
            return None
    return len(ranks)


def task_nodes(taskmap: object) -> list[int]:
    """The node id of each task rank, from an RFC 34 taskmap object."""
    blocks = taskmap.get("map") if isinstance(taskmap, Mapping) else None
    if not isinstance(blocks, list):
        raise HostsError("the taskmap has no map")
    nodes: list[int] = []
    for block in blocks:
        if (
            not isinstance(block, list)
            or len(block) != 4
            or not all(type(n) is int and n >= 0 for n in block)
        ):
            raise HostsError(f"taskmap block {block!r} is not [nodeid, nnodes, ppn, repeat]")
        nodeid, nnodes, ppn, repeat = block
        if len(nodes) + nnodes * ppn * repeat > MAX_TASKS:
            raise HostsError(f"the taskmap claims more than {MAX_TASKS} tasks")
        for _ in range(repeat):
            for node in range(nodeid, nodeid + nnodes):
                nodes.extend([node] * ppn)
    return nodes


@dataclass(frozen=True)
class HostMap:
    """Each task rank's host, and the job's hosts in node order."""

    hosts: tuple[str, ...]  # by node id
    nodes: tuple[int, ...]  # by task rank: its node id

    @classmethod
    def of(cls, r: bytes | str | Mapping[str, Any], taskmap: object) -> HostMap:
        hosts = job_hosts(r)
        nodes = task_nodes(taskmap)
        for node in set(nodes):
            if node >= len(hosts):
                raise HostsError(f"the taskmap names node {node}, but R has {len(hosts)} hosts")
        return cls(tuple(hosts), tuple(nodes))

    def host(self, rank: int) -> str | None:
        """Task ``rank``'s host (None for a rank the taskmap does not hold)."""
        if 0 <= rank < len(self.nodes):
            return self.hosts[self.nodes[rank]]
        return None

    def node(self, rank: int) -> int | None:
        """Task ``rank``'s node id (its place in R): what its colour follows."""
        return self.nodes[rank] if 0 <= rank < len(self.nodes) else None

    def tasks_on(self, hosts: Iterable[str]) -> IdSet:
        """The task ranks that ran on any of ``hosts``."""
        wanted = set(hosts)
        return IdSet.of(rank for rank, node in enumerate(self.nodes) if self.hosts[node] in wanted)

    def hostlist(self, ranks: Iterable[int]) -> str:
        """The hosts of ``ranks``, once each, in node order, as a hostlist."""
        nodes = sorted({node for r in ranks if (node := self.node(r)) is not None})
        return compress(self.hosts[node] for node in nodes)
