"""A live Flux instance: the only module that imports flux (lazily).

Two layers:

* ``FluxBoundary`` is the narrow boundary to libflux: one-shot KVS and
  job-info lookups that return raw bytes, and streaming watches that the
  flux reactor fills.  Nothing else here touches flux, so tests replace it
  with a fake that replays captured eventlogs (tests/fakeflux.py).
* ``FluxJobSource`` is the Source the core reads.  It decides what to read,
  from where, and when a job is over; it only talks to a ``Boundary``.

Where the bytes come from (flux-core 0.88): a job's KVS directory
``job.<id>`` holds the main ``eventlog``.  While the job runs,
``job.<id>.guest`` is a symlink to the root of the guest namespace
``job-<id>`` (keys ``output`` and ``exec.eventlog``), owned by the job's
user; when the job ends, job-exec grafts the guest namespace into
``job.<id>.guest``, then removes the namespace (a watch on it then fails
with EOPNOTSUPP), then posts ``release`` with ``final: true``.

``cat`` reads each eventlog in one bulk read of ``job.<id>.<key>`` (the
symlink makes this work for running jobs too): the value's tree object,
then its blobs straight from the content store, pipelined (instance owner;
anyone else gets one plain lookup).  ``follow`` watches the main eventlog
(KVS append watch), and once the job has started, the guest keys with a
FLUX_KVS_WATCH | FLUX_KVS_WATCH_APPEND watch in the guest namespace, which
delivers appended chunks; when the namespace goes, the rest is read from the
graft in one bulk read, skipping the bytes already seen.  When the primary
namespace is not readable (EPERM: the user does not own the instance), the
main eventlog comes from job-info (which checks access) and the finished
eventlogs from ``job-info.lookup``; the guest namespace stays readable for
the job's owner.
"""

from __future__ import annotations

import base64
import errno
import glob
import os
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import orjson

from fluxout.errors import FluxoutError, NoFluxError
from fluxout.jobid import format_jobid
from fluxout.sources.base import EVENTLOGS, IDLE, Source

# Slices the core gets a bulk value in (as the file source reads files).
CHUNK = 1 << 20
# How long one wait on the reactor lasts at most: the follow loop yields
# IDLE this often, and signal handlers (SIGTERM) run at least this often.
POLL_SECONDS = 0.25
# Blobs of a big value requested from the content store at a time.
LOAD_WINDOW = 8
# Synchronous RPCs wait in slices this long, so Ctrl-C is seen promptly.
RPC_SLICE = 0.25
# A lookup through the job.<id>.guest symlink can race the graft that
# replaces it: how often, and how long apart, such a lookup is retried.
GRAFT_RETRIES = 20
GRAFT_DELAY = 0.05

# errno values that mean the broker connection is gone.
_CONNECTION_ERRNOS = frozenset(
    {
        errno.ECONNRESET,
        errno.ECONNREFUSED,
        errno.ECONNABORTED,
        errno.EPIPE,
        errno.ENOTCONN,
        errno.ESHUTDOWN,
        errno.EHOSTUNREACH,
        errno.EHOSTDOWN,
        errno.ENETDOWN,
        errno.ENETUNREACH,
    }
)

# Per eventlog of a job: (key in the guest namespace, key under job.<id>).
GUEST_KEYS = {
    "exec": ("exec.eventlog", "guest.exec.eventlog"),
    "output": ("output", "guest.output"),
}


# -- the boundary --------------------------------------------------------------


class Watch(Protocol):
    """A streaming lookup: values arrive while the boundary waits."""

    @property
    def error(self) -> OSError | None:
        """Set once the stream has ended: ENODATA for a normal end."""
        ...

    @property
    def answered(self) -> bool:
        """Whether the instance has answered the lookup yet (a value or an
        error): until then it is in flight."""
        ...

    def take(self) -> list[bytes]:
        """The values that arrived since the last call (never blocks)."""
        ...

    def cancel(self) -> None: ...


class Boundary(Protocol):
    """Everything fluxout asks of a Flux instance.

    Lookups return raw bytes, or None for a missing key (ENOENT); other
    failures raise OSError with the errno flux gave (PermissionError for
    EPERM).  A namespace that does not exist (any more) is EOPNOTSUPP.
    """

    def lookup(self, key: str, namespace: str | None = None) -> bytes | None:
        """One KVS lookup (primary namespace unless ``namespace``)."""
        ...

    def read(self, key: str, namespace: str | None = None) -> Iterator[bytes] | None:
        """A big value, in pieces: what ``lookup`` gives, without holding it
        all at once.  Errors about the key are raised by the call itself."""
        ...

    def job_info_lookup(self, jobid: int, key: str) -> bytes | None:
        """One key of a job through ``job-info.lookup`` (access checked)."""
        ...

    def watch(self, key: str, namespace: str | None = None) -> Watch:
        """FLUX_KVS_WATCH | FLUX_KVS_WATCH_APPEND: the whole value first,
        then each appended chunk.  Never FLUX_KVS_WAITCREATE: see
        ``FluxJobSource`` for why (it can abort the broker)."""
        ...

    def event_watch(self, jobid: int, eventlog: str) -> Watch:
        """job-info's eventlog watch (flux_job_event_watch): one entry per
        value, access checked; ends with ENODATA after ``clean``."""
        ...

    def wait(self, timeout: float) -> None:
        """Block until some watch has news, or ``timeout`` seconds."""
        ...


# -- finding and loading the bindings -------------------------------------------


def _flux_modules() -> list[str]:
    return [
        name
        for name in sys.modules
        if name in ("flux", "_flux") or name.startswith(("flux.", "_flux."))
    ]


def _forget_flux() -> None:
    """Drop a half-imported flux package so another copy can be tried."""
    for name in _flux_modules():
        del sys.modules[name]


def _try_import() -> Any:
    import flux
    import flux.constants
    import flux.future
    from _flux._core import ffi, lib

    del ffi, lib
    return flux


def binding_dirs(flux_cmd: str | None = None) -> list[str]:
    """Where the Python bindings of the ``flux`` command on PATH live.

    The command's prefix gives ``<prefix>/lib/flux/pythonX.Y`` (what
    ``flux env`` puts in PYTHONPATH) and ``<prefix>/lib*/pythonX.Y/
    site-packages``; ``flux env`` is asked last, for unusual layouts.
    """
    cmd = flux_cmd or shutil.which("flux")
    if not cmd:
        return []
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    prefix = Path(os.path.realpath(cmd)).parent.parent
    dirs = [str(prefix / "lib" / "flux" / version)]
    for lib in ("lib", "lib64"):
        dirs.append(str(prefix / lib / version / "site-packages"))
        dirs.append(str(prefix / lib / version / "dist-packages"))
    found = [d for d in dirs if os.path.isdir(os.path.join(d, "flux"))]
    if found:
        return found
    try:
        env = subprocess.run(
            [cmd, "env"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    for line in env.splitlines():
        if line.startswith("export PYTHONPATH="):
            value = line.split("=", 1)[1].strip().strip('"')
            return [d for d in value.split(":") if glob.glob(os.path.join(d, "flux"))]
    return []


def import_flux(job: str) -> Any:
    """Import the Flux bindings, or say in one line what is missing.

    A plain ``import flux`` first; when that fails (no libflux-core behind
    the flux-python wheel, or no bindings at all), the bindings of the
    ``flux`` command on PATH are tried.
    """
    try:
        return _try_import()
    except Exception as exc:  # ImportError, or OSError from a missing libflux-core
        first = exc
    _forget_flux()
    tried = []
    for path in binding_dirs():
        tried.append(path)
        sys.path.insert(0, path)
        try:
            return _try_import()
        except Exception:
            sys.path.remove(path)
            _forget_flux()
    where = (
        f"; the bindings of {shutil.which('flux')} ({', '.join(tried)}) do not load "
        f"in Python {sys.version_info.major}.{sys.version_info.minor} either"
        if tried
        else "; no flux command on PATH"
    )
    raise NoFluxError(
        job,
        f"cannot load the Flux Python bindings ({first}){where}. Reading a job "
        "by id needs flux-core: put its flux command on PATH (or its Python "
        "bindings on PYTHONPATH); to read a saved eventlog instead, give its "
        "path (e.g. ./output.eventlog)",
    )


# -- the real boundary ------------------------------------------------------------


class _FluxWatch:
    """A streaming future whose values the reactor collects."""

    def __init__(
        self,
        boundary: FluxBoundary,
        future: Any,
        get: Callable[[Any], bytes],
        cancel: Callable[[Any], int],
    ) -> None:
        self._boundary = boundary
        self._get = get
        self._cancel = cancel
        self._items: list[bytes] = []
        self._error: OSError | None = None
        self._answered = False
        self.canceled = False
        self.future = boundary.flux.future.Future(future)
        self.future.then(self._ready)

    @property
    def error(self) -> OSError | None:
        return self._error

    @property
    def answered(self) -> bool:
        return self._answered

    def _ready(self, future: Any) -> None:
        # Runs inside the reactor: must not raise.
        self._answered = True
        try:
            value = self._get(future.pimpl.handle)
        except OSError as exc:
            self._error = exc
            future.stop()
        else:
            self._items.append(value)
            future.reset()
        self._boundary.news += 1

    def take(self) -> list[bytes]:
        items, self._items = self._items, []
        return items

    def cancel(self) -> None:
        if self.canceled:
            return
        self.canceled = True
        self.future.stop()
        if self._error is None:
            self._cancel(self.future.pimpl.handle)


class FluxBoundary:
    """The real thing: a handle on a Flux instance and its reactor."""

    def __init__(self, flux: Any, handle: Any) -> None:
        from _flux._core import ffi, lib

        self.flux = flux
        self.ffi = ffi
        self.lib = lib
        self.handle = handle
        self.h = handle.handle  # flux_t *
        self.reactor = lib.flux_get_reactor(self.h)
        self.news = 0
        self._timed_out = False
        self._timer: Any = None

    @classmethod
    def connect(cls, uri: str | None, job: str) -> FluxBoundary:
        flux = import_flux(job)
        try:
            handle = flux.Flux(uri) if uri else flux.Flux()
        except OSError as exc:
            where = uri or os.environ.get("FLUX_URI") or "the system instance (FLUX_URI is not set)"
            why = _strerror(exc).removeprefix("Unable to connect to Flux: ")
            raise NoFluxError(job, f"cannot connect to Flux at {where}: {why}") from None
        return cls(flux, handle)

    # errors

    def _oserror(self, future: Any) -> OSError:
        num = self.ffi.errno or errno.EIO
        text = ""
        if future is not None and future != self.ffi.NULL:
            msg = self.lib.flux_future_error_string(future)
            if msg != self.ffi.NULL:
                text = self.ffi.string(msg).decode("utf-8", "replace")
        return OSError(num, text or os.strerror(num))

    def _sync(self, future: Any) -> None:
        """Wait for a future in short slices: Ctrl-C stays effective."""
        lib, ffi = self.lib, self.ffi
        while lib.flux_future_wait_for(future, RPC_SLICE) < 0:
            if ffi.errno != errno.ETIMEDOUT:
                if not lib.flux_future_is_ready(future):
                    raise _connection_lost()
                return  # fulfilled with an error: the get reports it

    # value getters (run on a fulfilled future)

    def _kvs_value(self, future: Any) -> bytes:
        data = self.ffi.new("const void *[1]")
        size = self.ffi.new("size_t *")
        if self.lib.flux_kvs_lookup_get_raw(future, data, size) < 0:
            raise self._oserror(future)
        if data[0] == self.ffi.NULL or size[0] == 0:
            return b""
        return bytes(self.ffi.buffer(data[0], size[0]))

    def _event_value(self, future: Any) -> bytes:
        entry = self.ffi.new("const char *[1]")
        if self.lib.flux_job_event_watch_get(future, entry) < 0:
            raise self._oserror(future)
        text = self.ffi.string(entry[0])
        return bytes(text) if text.endswith(b"\n") else bytes(text) + b"\n"

    # the Boundary protocol

    def lookup(self, key: str, namespace: str | None = None) -> bytes | None:
        ns = namespace.encode() if namespace else self.ffi.NULL
        future = self.lib.flux_kvs_lookup(self.h, ns, 0, key.encode())
        if future == self.ffi.NULL:
            raise self._oserror(None)
        try:
            self._sync(future)
            return self._kvs_value(future)
        except FileNotFoundError:
            return None
        finally:
            self.lib.flux_future_destroy(future)

    def read(self, key: str, namespace: str | None = None) -> Iterator[bytes] | None:
        """The value's tree object, then its blobs from the content store.

        A KVS lookup of a big value sends it back base64-encoded in one JSON
        message; its blobs come raw, each in its own message, and pipelined
        that is an order of magnitude faster (29 MB: 1.5 s against 0.1 s).
        content.load is for the instance owner only: anyone else gets the
        value through ``lookup``.
        """
        lib, ffi = self.lib, self.ffi
        ns = namespace.encode() if namespace else ffi.NULL
        future = lib.flux_kvs_lookup(self.h, ns, lib.FLUX_KVS_TREEOBJ, key.encode())
        if future == ffi.NULL:
            raise self._oserror(None)
        try:
            self._sync(future)
            text = ffi.new("const char *[1]")
            if lib.flux_kvs_lookup_get_treeobj(future, text) < 0:
                exc = self._oserror(future)
                if isinstance(exc, FileNotFoundError):
                    return None
                raise exc
            tree = orjson.loads(ffi.string(text[0]))
        finally:
            lib.flux_future_destroy(future)
        kind = tree.get("type") if isinstance(tree, dict) else None
        if kind == "val":
            return iter((base64.b64decode(tree.get("data") or ""),))
        if kind != "valref" or not isinstance(tree.get("data"), list):
            raise IsADirectoryError(errno.EISDIR, f"{key}: not a value ({kind})")
        return self._blobs(tree["data"], key, namespace)

    def _blobs(self, refs: list[str], key: str, namespace: str | None) -> Iterator[bytes]:
        """The blobs ``refs`` in order, LOAD_WINDOW requests in flight."""
        lib, ffi = self.lib, self.ffi
        pending: deque[Any] = deque()
        data = ffi.new("const void *[1]")
        size = ffi.new("size_t *")
        sent = 0
        first = True
        try:
            while sent < len(refs) or pending:
                while sent < len(refs) and len(pending) < LOAD_WINDOW:
                    digest = bytes.fromhex(refs[sent].partition("-")[2])
                    future = lib.flux_rpc_raw(
                        self.h, b"content.load", digest, len(digest), lib.FLUX_NODEID_ANY, 0
                    )
                    if future == ffi.NULL:
                        raise self._oserror(None)
                    pending.append(future)
                    sent += 1
                future = pending.popleft()
                try:
                    self._sync(future)
                    if lib.flux_rpc_get_raw(future, data, size) < 0:
                        exc = self._oserror(future)
                        if isinstance(exc, PermissionError) and first:
                            # Not the instance owner: the plain lookup.
                            value = self.lookup(key, namespace)
                            if value:
                                yield value
                            return
                        raise exc
                    blob = bytes(ffi.buffer(data[0], size[0])) if size[0] else b""
                finally:
                    lib.flux_future_destroy(future)
                first = False
                yield blob
        finally:
            for future in pending:
                lib.flux_future_destroy(future)

    def job_info_lookup(self, jobid: int, key: str) -> bytes | None:
        lib, ffi = self.lib, self.ffi
        payload = orjson.dumps({"id": jobid, "keys": [key], "flags": 0})
        future = lib.flux_rpc(self.h, b"job-info.lookup", payload, lib.FLUX_NODEID_ANY, 0)
        if future == ffi.NULL:
            raise self._oserror(None)
        try:
            self._sync(future)
            data = ffi.new("const void *[1]")
            size = ffi.new("size_t *")
            if lib.flux_rpc_get_raw(future, data, size) < 0:
                exc = self._oserror(future)
                if exc.errno == errno.ENOENT and key != "eventlog":
                    return None  # "<key>: key not found"
                raise exc
            raw = bytes(ffi.buffer(data[0], size[0])).rstrip(b"\0")
        finally:
            lib.flux_future_destroy(future)
        value = orjson.loads(raw).get(key)
        return value.encode("utf-8", "surrogateescape") if value is not None else None

    def watch(self, key: str, namespace: str | None = None) -> Watch:
        c = self.flux.constants
        # No FLUX_KVS_WAITCREATE, ever (FluxJobSource says why): a key or
        # namespace that is not there fails at once, ENOENT or EOPNOTSUPP.
        flags = c.FLUX_KVS_WATCH | c.FLUX_KVS_WATCH_APPEND
        ns = namespace.encode() if namespace else self.ffi.NULL
        future = self.lib.flux_kvs_lookup(self.h, ns, flags, key.encode())
        if future == self.ffi.NULL:
            raise self._oserror(None)
        return _FluxWatch(self, future, self._kvs_value, self.lib.flux_kvs_lookup_cancel)

    def event_watch(self, jobid: int, eventlog: str) -> Watch:
        future = self.lib.flux_job_event_watch(self.h, jobid, eventlog.encode(), 0)
        if future == self.ffi.NULL:
            raise self._oserror(None)
        return _FluxWatch(self, future, self._event_value, self.lib.flux_job_event_watch_cancel)

    def _timeout(self, *args: Any) -> None:
        self._timed_out = True

    def wait(self, timeout: float) -> None:
        news = self.news
        if self._timer is None:
            self._timer = self.handle.timer_watcher_create(timeout, self._timeout)
        self._timer.reset(after=timeout, repeat=0.0)
        self._timed_out = False
        try:
            while self.news == news and not self._timed_out:
                # One pass of the reactor; a signal (EINTR) ends it too, and
                # Python then raises KeyboardInterrupt here.
                rc = self.lib.flux_reactor_run(self.reactor, self.lib.FLUX_REACTOR_ONCE)
                self.flux.core.handle.Flux.raise_if_exception()
                if rc < 0:
                    # The message dispatcher stops the reactor with an
                    # error when receiving fails: the broker is gone.
                    raise _connection_lost()
        finally:
            self._timer.stop()


def _connection_lost() -> OSError:
    return ConnectionResetError(errno.ECONNRESET, "the broker closed the connection")


def _strerror(exc: OSError) -> str:
    return exc.strerror or str(exc) or os.strerror(exc.errno or errno.EIO)


# How a Boundary is made for a URI.  Tests replace this with a fake.  Each
# job gets its own connection: the core may read several jobs at once, each
# in its own thread, and a flux handle is not to be shared between threads.
Connect = Callable[[str | None, str], Boundary]


def _connect(uri: str | None, job: str) -> Boundary:
    return FluxBoundary.connect(uri, job)


connect: Connect = _connect


# -- the source ---------------------------------------------------------------------


class _Cursor:
    """How far into one eventlog fluxout has read.

    Every stream an eventlog is read from (a lookup, a KVS watch, a job-info
    watch) gives it from its start: ``seen`` counts the bytes already passed
    on, so that switching streams never repeats or loses a byte.
    """

    def __init__(self) -> None:
        self.pos = 0  # bytes received from the current stream
        self.seen = 0  # bytes passed on

    def feed(self, data: bytes) -> bytes:
        """The part of ``data`` not yet passed on."""
        start = self.pos
        self.pos += len(data)
        if self.pos <= self.seen:
            return b""  # already passed on
        new = data[self.seen - start :] if start < self.seen else data
        self.seen = self.pos
        return new


class _Scan:
    """The events of an eventlog whose bytes arrive in pieces: just enough
    of them for the source to know where the job is (the core decodes and
    reports the eventlog itself)."""

    def __init__(self) -> None:
        self.partial = b""

    def events(self, data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
        """(name, context) of each whole line ``data`` completes."""
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            try:
                event = orjson.loads(line)
                name = event.get("name")
                context = event.get("context")
            except (orjson.JSONDecodeError, AttributeError):
                continue  # the core reports malformed lines
            if isinstance(name, str):
                yield name, context if isinstance(context, dict) else {}


class _GuestLog(_Cursor):
    """One guest eventlog of a followed job (exec or output)."""

    def __init__(self, eventlog: str, shown: bool) -> None:
        super().__init__()
        self.eventlog = eventlog
        self.guest_key, self.job_key = GUEST_KEYS[eventlog]
        # Passed on to the core; the exec eventlog is also watched when only
        # the output is wanted, to know when the output key exists.
        self.shown = shown
        # Whether its key exists, so that it may be watched: the exec
        # eventlog from the job's start, the output once the exec eventlog
        # says shell.init (the shell writes the output header before it).
        self.exists = eventlog == "exec"
        self.scan = _Scan()
        self.watch: Watch | None = None
        self.done = False

    def restart(self, watch: Watch | None) -> None:
        """Read from ``watch`` (from its start) instead of the current stream."""
        if self.watch is not None:
            self.watch.cancel()
        self.watch = watch
        self.pos = 0

    @property
    def in_flight(self) -> bool:
        return self.watch is not None and not self.watch.answered


class _MainLog(_Cursor):
    """The main eventlog of a followed job, and what it says so far."""

    def __init__(self) -> None:
        super().__init__()
        self.scan = _Scan()
        self.started = False
        self.released = False  # release with final=true: the graft is there
        self.clean = False

    def see(self, data: bytes) -> None:
        for name, context in self.scan.events(data):
            if name == "start":
                self.started = True
            elif name == "release" and context.get("final") is True:
                self.released = True
            elif name == "clean":
                self.clean = self.released = True


class FluxJobSource:
    """A job in a live instance, read through a Boundary."""

    def __init__(self, boundary: Boundary, jobid: int) -> None:
        self.boundary = boundary
        self.jobid = jobid
        self.name = format_jobid(jobid)
        self.eventlogs = frozenset(EVENTLOGS)
        self.kvsdir = format_jobid(jobid, "kvs")
        self.namespace = f"job-{jobid}"
        # The primary namespace is readable (instance owner); on EPERM the
        # job-info service is used instead.
        self.direct = True
        # follow: the guest namespace is gone (its graft holds the rest);
        # it is not ours, so job-info watches it for us.
        self.guest_gone = False
        self.guest_job_info = False
        self._main: bytes | None = None

    def check(self) -> None:
        """Read the main eventlog now: does the job exist, is it ours?

        Done when the source is opened, so that these errors come before
        anything is shown; the first ``chunks`` uses what was read.
        """
        self._main = self.read_main()

    # errors

    def error(self, exc: OSError, what: str = "") -> FluxoutError:
        num = exc.errno
        if num == errno.ENOENT and what in ("", "eventlog"):
            return FluxoutError(self.name, "no such job")
        if num in (errno.EPERM, errno.EACCES):
            return FluxoutError(self.name, "that is not your job")
        if num in _CONNECTION_ERRNOS:
            return FluxoutError(
                self.name, f"lost the connection to the Flux instance ({_strerror(exc)})"
            )
        prefix = f"{what}: " if what else ""
        return FluxoutError(self.name, f"{prefix}{_strerror(exc)}")

    # one-shot reads

    def read_main(self) -> bytes:
        """The main eventlog now (one lookup): the job must exist and be ours."""
        key = f"{self.kvsdir}.eventlog"
        try:
            value = None
            if self.direct:
                try:
                    value = self.boundary.lookup(key)
                except PermissionError:
                    self.direct = False
            if not self.direct:
                value = self.boundary.job_info_lookup(self.jobid, "eventlog")
        except OSError as exc:
            raise self.error(exc, "eventlog") from None
        if value is None:
            raise FluxoutError(self.name, "no such job")
        return value

    def _open_guest(self, key: str) -> Iterator[bytes] | None:
        """``job.<id>.<key>`` in pieces: directly, or through job-info when denied."""
        if self.direct:
            try:
                return self.boundary.read(f"{self.kvsdir}.{key}")
            except PermissionError:
                self.direct = False
        value = self.boundary.job_info_lookup(self.jobid, key)
        return None if value is None else iter((value,))

    def read_guest(self, log: _GuestLog) -> Iterator[bytes]:
        """A guest eventlog as it is now, in one bulk read (running or
        finished job; nothing when there is none).

        ``job.<id>.guest`` is a symlink into the guest namespace while the
        job runs and the graft afterwards: a read racing the switch sees
        EOPNOTSUPP and is retried.
        """
        for _ in range(GRAFT_RETRIES):
            try:
                pieces = self._open_guest(log.job_key)
                break
            except OSError as exc:
                if exc.errno != errno.EOPNOTSUPP:
                    raise self.error(exc, log.job_key) from None
            time.sleep(GRAFT_DELAY)
        else:
            raise FluxoutError(self.name, f"{log.job_key}: the guest namespace went away")
        if pieces is None:
            return
        try:
            yield from pieces
        except OSError as exc:
            raise self.error(exc, log.job_key) from None

    def chunks(self, follow: bool, wanted: frozenset[str]) -> Iterator[tuple[str, bytes]]:
        # The main eventlog first, in every case: the job's state.
        main = self._main if self._main is not None else self.read_main()
        self._main = None
        if follow:
            yield from self._follow(main, wanted)
            return
        if "main" in wanted:
            yield from _slices("main", main)
        for eventlog in ("exec", "output"):
            if eventlog in wanted:
                for piece in self.read_guest(_GuestLog(eventlog, True)):
                    yield from _slices(eventlog, piece)

    # follow
    #
    # What follow asks of the instance, and why each request is safe for it
    # (a reader must never harm the instance it reads):
    #
    # * The main eventlog: a KVS watch (FLUX_KVS_WATCH | FLUX_KVS_WATCH_APPEND)
    #   of job.<id>.eventlog in the primary namespace, which always exists,
    #   on a key just read; or job-info's eventlog watch, which checks access.
    # * The guest eventlogs, while the job runs: KVS watches in the guest
    #   namespace job-<id>, with two rules that kvs-watch needs (flux-core
    #   0.88 and its main branch): a watch in a namespace it has no monitor
    #   for yet creates one and asks for the namespace's root; if a second
    #   lookup of that namespace arrives before the answer, and the
    #   namespace is gone (the job just ended), kvs-watch clears the error
    #   for a FLUX_KVS_WAITCREATE watcher and then asserts on the other
    #   (kvs-watch.c, watcher_respond: "nsm->commit != NULL"): the broker
    #   aborts.  So:
    #   - never FLUX_KVS_WAITCREATE: the namespace and its exec.eventlog
    #     exist from the job's start, which is when they are first watched;
    #     a namespace that is gone fails at once with EOPNOTSUPP, and the
    #     rest is read from the graft in the primary namespace;
    #   - one guest lookup in flight at a time: the output watch is opened
    #     only after the exec watch has answered, and only once the exec
    #     eventlog says shell.init (the output key exists from then on, as
    #     flux job attach waits for it); a key still missing (ENOENT) is
    #     asked for again later, never waited for.
    #   The job-info watches used instead when the guest namespace is not
    #   ours (EPERM) follow the same two rules: job-info watches the guest
    #   namespace on our behalf, without FLUX_KVS_WAITCREATE.
    # * The graft (job.<id>.guest.*) and cat's reads are plain lookups
    #   (kvs, content store), which kvs-watch never sees.

    def _open_main(self) -> Watch:
        if self.direct:
            return self.boundary.watch(f"{self.kvsdir}.eventlog")
        return self.boundary.event_watch(self.jobid, "eventlog")

    def _open_guest_watch(self, log: _GuestLog) -> Watch:
        if self.guest_job_info:
            return self.boundary.event_watch(self.jobid, f"guest.{log.guest_key}")
        return self.boundary.watch(log.guest_key, self.namespace)

    def _finish(self, log: _GuestLog) -> Iterator[tuple[str, bytes]]:
        """The rest of a guest eventlog, from the graft, once the job is over."""
        if log.watch is not None:
            for data in log.watch.take():
                if new := log.feed(data):
                    yield log.eventlog, new
            log.restart(None)
        for piece in self.read_guest(log):
            if rest := log.feed(piece):
                yield from _slices(log.eventlog, rest)
        log.done = True

    def _guest(
        self, log: _GuestLog, job: _MainLog, guests: list[_GuestLog]
    ) -> Iterator[tuple[str, bytes]]:
        """What a guest eventlog has for us now."""
        if job.released or self.guest_gone:
            yield from self._finish(log)
            return
        if log.watch is None:
            if not job.started or not log.exists or any(g.in_flight for g in guests):
                return
            log.restart(self._open_guest_watch(log))
            assert log.watch is not None
        for data in log.watch.take():
            if new := log.feed(data):
                yield log.eventlog, new
        err = log.watch.error
        if err is None:
            return
        if err.errno in (errno.EOPNOTSUPP, errno.ENODATA):
            # The namespace is gone: the rest of every guest eventlog is in
            # the graft, and no watch may be opened in it again.
            self.guest_gone = True
            yield from self._finish(log)
        elif err.errno == errno.ENOENT:
            log.restart(None)  # not there yet: asked again in a later round
        elif err.errno == errno.EPERM and not self.guest_job_info:
            # Not the namespace's owner: job-info checks access itself.
            self.guest_job_info = True
            log.restart(None)
        else:
            raise self.error(err, log.job_key)

    def _follow(self, initial: bytes, wanted: frozenset[str]) -> Iterator[tuple[str, bytes]]:
        job = _MainLog()
        job.see(job.feed(initial))
        if "main" in wanted:
            yield from _slices("main", initial)
        guests: list[_GuestLog] = []
        if wanted & {"exec", "output"}:
            guests.append(_GuestLog("exec", "exec" in wanted))
        if "output" in wanted:
            guests.append(_GuestLog("output", True))
        main: Watch | None = None
        try:
            if not job.clean:
                main = self._open_main()
                job.pos = 0  # the watch gives the eventlog from its start
            while True:
                news = False  # anything passed on in this round
                if main is not None:
                    for data in main.take():
                        if new := job.feed(data):
                            job.see(new)
                            if "main" in wanted:
                                news = True
                                yield "main", new
                    err = main.error
                    if err is not None:
                        if err.errno != errno.ENODATA:
                            raise self.error(err, "eventlog")
                        # job-info ends its watch after clean.
                        job.released = job.clean = True
                        main = None
                for log in guests:
                    if log.done:
                        continue
                    for eventlog, chunk in self._guest(log, job, guests):
                        if eventlog == "exec":
                            self._saw_exec(chunk, guests)
                        if log.shown:
                            news = True
                            yield eventlog, chunk
                if job.clean and all(log.done for log in guests):
                    return
                if not news:
                    yield IDLE, b""
                    self.boundary.wait(POLL_SECONDS)
        except OSError as exc:
            raise self.error(exc) from None
        finally:
            for log in guests:
                log.restart(None)
            if main is not None:
                main.cancel()

    @staticmethod
    def _saw_exec(data: bytes, guests: list[_GuestLog]) -> None:
        """New exec eventlog bytes: once the shell is up, the output exists."""
        for name, _ in guests[0].scan.events(data):
            if name == "shell.init":
                for log in guests:
                    log.exists = True


def _slices(eventlog: str, value: bytes) -> Iterator[tuple[str, bytes]]:
    """A value as chunks of bytes for the core, in slices of CHUNK bytes."""
    if len(value) <= CHUNK:
        yield eventlog, value
        return
    view = memoryview(value)
    for start in range(0, len(value), CHUNK):
        yield eventlog, bytes(view[start : start + CHUNK])


def open_job(jobid: int, spelled: str, uri: str | None, boundary: Boundary | None = None) -> Source:
    """A job of a live instance (``uri``, else FLUX_URI) as a source."""
    if boundary is None:
        boundary = connect(uri, format_jobid(jobid))
    source = FluxJobSource(boundary, jobid)
    source.check()
    return source
