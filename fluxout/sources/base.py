"""The interface every source of eventlog bytes offers to the core."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

# The three eventlogs of a job, by the names fluxout shows them under.
EVENTLOGS = ("main", "exec", "output")
IDLE = "idle"
# Not an eventlog: what a live source learns of the queue of a job that
# waits for resources, when it is wanted (for the status line), as JSON
# ``{"queue": NAME, "stopped": BOOL}``.
QUEUE = "queue"
# Not an eventlog: the job's resource set (R, RFC 20 JSON), given once
# before the exec eventlog when it is wanted (for host labels); empty bytes
# when the source has none.
RESOURCES = "R"


@dataclass(frozen=True)
class Notice:
    """What a source says about one of its eventlogs, yielded in place of a
    chunk of it: one line for stderr, and what it means for the job.
    """

    message: str  # "<job>: <what happened>"
    # The eventlog starts again from its first byte (its file was replaced
    # or truncated): a line the old bytes left unfinished is dropped.
    restart: bool = False
    # Part of the job could not be read: the exit status is 1.
    error: bool = False


class Source(Protocol):
    """Raw eventlog bytes of one job, in arrival order.

    ``chunks`` yields ``(eventlog, bytes)`` pairs, where eventlog is one of
    EVENTLOGS and the bytes of each eventlog, joined, are its RFC 18 text.
    With ``follow`` it goes on yielding as the eventlogs grow, until the job
    is over or the consumer closes the generator; whenever it has caught up
    with everything there is so far it yields ``("idle", b"")``, the moment
    for the consumer to decide whether the job is over.  In place of bytes
    it may yield a ``Notice`` about that eventlog.  A live source also
    yields ``(QUEUE, json)`` now and then while the job waits for resources,
    when QUEUE is in ``wanted``, and every source gives ``(RESOURCES, R)``
    once, before the exec eventlog, when RESOURCES is in ``wanted``.
    """

    name: str  # the job as shown in messages: a path, or a jobid in f58
    eventlogs: frozenset[str]  # which eventlogs this source can give

    def chunks(
        self, follow: bool, wanted: frozenset[str]
    ) -> Iterator[tuple[str, bytes | Notice]]: ...
