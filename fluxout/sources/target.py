"""Turn a JOB argument into a source: a jobid, a path, or ``-`` for stdin."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, BinaryIO

from fluxout.jobid import is_jobid, parse_jobid
from fluxout.nested import instance_uri, parse_jobid_path
from fluxout.sources.base import Source

if TYPE_CHECKING:
    from fluxout.sources.flux.loop import Instance

# Spellings that force a path even when the rest would parse as a jobid.
_PATH_PREFIXES = ("./", "../", "/", "~")


def is_path_argument(arg: str) -> bool:
    """True when ``arg`` names a file, directory or stdin rather than a job.

    An existing path wins (a directory named ``fresh`` or ``42``, or after
    its jobid); else an argument that parses as a jobid is a jobid.
    ``./NAME`` forces a path.
    """
    if arg == "-" or arg.startswith(_PATH_PREFIXES) or os.path.lexists(arg):
        return True
    return not is_jobid(arg) and parse_jobid_path(arg) is None


def open_target(
    arg: str,
    uri: str | None = None,
    stdin: BinaryIO | None = None,
    instance: Instance | None = None,
) -> Source:
    """``arg`` as a source: ``-`` reads ``stdin`` (None: the process's); a
    jobid goes through ``instance`` when given (the jobs of one command share
    its one connection), else a connection of its own."""
    if is_path_argument(arg):
        from fluxout.sources.file import open_path

        return open_path(arg, stdin)
    from fluxout.sources.flux import open_job

    path = parse_jobid_path(arg)
    if path is not None:
        # ƒA/ƒB: job ƒB of the instance job ƒA runs (fluxout.nested), on a
        # connection of its own.
        return open_job(path[-1], arg, instance_uri(path[:-1], uri, arg))
    boundary = instance.boundary(arg) if instance is not None else None
    return open_job(parse_jobid(arg), arg, uri, boundary)
