"""Turn a JOB argument into a source: a jobid, a path, or ``-`` for stdin."""

from __future__ import annotations

import os
from typing import BinaryIO

from fluxout.jobid import is_jobid, parse_jobid
from fluxout.sources.base import Source

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
    return not is_jobid(arg)


def open_target(arg: str, uri: str | None = None, stdin: BinaryIO | None = None) -> Source:
    """``stdin`` is what ``-`` reads (None: the process's stdin)."""
    if is_path_argument(arg):
        from fluxout.sources.file import open_path

        return open_path(arg, stdin)
    from fluxout.sources.flux import open_job

    return open_job(parse_jobid(arg), arg, uri)
