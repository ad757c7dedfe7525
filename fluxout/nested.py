"""Jobs inside jobs: a jobid path ``ƒA/ƒB`` is job ƒB of the instance job ƒA runs.

Resolved as ``flux uri jobid:ƒA/ƒB`` resolves it (flux/uri/resolvers/jobid.py):
each jobid but the last must be a running job whose ``user.uri`` annotation
(its ``flux.uri`` memo) names the instance it runs; the next jobid is asked
of that instance. Unlike flux uri, an ``ssh://HOST/path`` URI whose HOST is
this machine is used as ``local:///path`` (as ``flux uri --local``), so a
nested job is read without ssh on the node where its instance runs;
FLUX_URI_RESOLVE_LOCAL makes every one local, as it does for flux.

Resolutions are kept for the run: many jobs of one instance ask once.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

from fluxout.errors import FluxoutError, NotFoundError
from fluxout.jobid import JobIdError, format_jobid, parse_jobid

__all__ = ["instance_uri", "parse_jobid_path"]

_cache: dict[tuple[str | None, tuple[int, ...]], str] = {}


def parse_jobid_path(arg: str) -> list[int] | None:
    """The jobids of ``ƒA/ƒB[/...]``, or None when ``arg`` is not one
    (a path, a single jobid). Whether such a path exists on disk is the
    caller's to ask (an existing path is always a path)."""
    if "/" not in arg or arg.startswith(("/", "./", "../", "~")):
        return None
    parts = arg.split("/")
    if len(parts) < 2 or any(not p for p in parts):
        return None
    try:
        return [parse_jobid(p) for p in parts]
    except JobIdError:
        return None


def _local(uri: str) -> str:
    """ssh://HOST/path as local:///path when HOST is this machine (or
    FLUX_URI_RESOLVE_LOCAL is set): no ssh to oneself."""
    parsed = urlparse(uri)
    if parsed.scheme != "ssh":
        return uri
    host = (parsed.hostname or "").split(".")[0]
    here = {socket.gethostname().split(".")[0], "localhost"}
    if host in here or os.environ.get("FLUX_URI_RESOLVE_LOCAL"):
        return f"local://{parsed.path}"
    return uri


def _child_uri(uri: str | None, jobid: int, path: str) -> str:
    from fluxout.sources.flux import boundary as _boundary

    name = format_jobid(jobid)
    flux = _boundary.connect(uri, path)
    try:
        answer = flux.rpc("job-list.list-id", {"id": jobid, "attrs": ["state", "annotations"]})
    except FileNotFoundError:
        raise NotFoundError(path, f"no job {name} in its instance") from None
    except OSError as exc:
        raise FluxoutError(path, f"cannot look up job {name}: {exc.strerror or exc}") from None
    job = answer.get("job") if isinstance(answer.get("job"), dict) else {}
    assert isinstance(job, dict)
    if job.get("state") != 16:  # RUN: only a running job has an instance to ask
        raise FluxoutError(path, f"job {name} is not running: its instance is gone")
    annotations = job.get("annotations") or {}
    user = annotations.get("user") if isinstance(annotations, dict) else None
    child = user.get("uri") if isinstance(user, dict) else None
    if not isinstance(child, str) or not child:
        raise FluxoutError(path, f"job {name} runs no Flux instance (no URI)")
    return _local(child)


def instance_uri(parents: list[int], uri: str | None, path: str) -> str | None:
    """The URI of the instance the last of ``parents`` runs (each inside the
    one before, from ``uri``); ``uri`` itself when there are none."""
    current = uri
    for depth in range(1, len(parents) + 1):
        key = (uri, tuple(parents[:depth]))
        if key not in _cache:
            _cache[key] = _child_uri(current, parents[depth - 1], path)
        current = _cache[key]
    return current
