"""The Flux boundary: the narrow layer over a flux handle, its RPCs and futures.

``Boundary`` is everything fluxout asks of a Flux instance: one-shot KVS
and job-info lookups that return raw bytes, and streaming watches that the
flux reactor fills.  ``FluxBoundary`` is the real one, over libflux; the
tests replace it with a fake that replays captured eventlogs
(tests/fakeflux.py), through ``connect``.  What to ask for, and when, is
the source's (source.py); this module only asks.
"""

from __future__ import annotations

import base64
import errno
import os
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import orjson

from fluxout.errors import NoFluxError
from fluxout.selection import JobRecord, record_of
from fluxout.sources.flux.bindings import import_flux

# Blobs of a big value requested from the content store at a time.
LOAD_WINDOW = 8
# Blobs sent ahead (``prefetch``: when a value's tree object answers, its
# blobs are asked for before the reader comes to it), in flight at most.
AHEAD_BLOBS = 128
# Synchronous RPCs wait in slices this long, so Ctrl-C is seen promptly.
RPC_SLICE = 0.25
# How long ``rpc`` waits for its answer at most.
RPC_TIMEOUT = 5.0


class Watch(Protocol):
    """A streaming lookup: values arrive while the boundary waits.

    ``notify``, when set, is called (inside the reactor: it must not raise)
    each time the watch has news, a value or its end: what lets one loop
    follow many jobs and wake only those that have news (loop.py).
    """

    notify: Callable[[], None] | None

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

    def rpc(self, topic: str, payload: dict[str, Any]) -> dict[str, Any]:
        """One request to a service and its JSON answer (a read-only one,
        such as job-list.list-id or job-manager.queue-status); TimeoutError
        when it has not come in RPC_TIMEOUT seconds."""
        ...

    def list_jobs(self, payload: dict[str, Any]) -> list[JobRecord]:
        """job-list.list (a streaming RPC, as flux.job.list.JobListRPC reads
        it): the jobs a selection's request names, as records."""
        ...

    def watch(self, key: str, namespace: str | None = None) -> Watch:
        """FLUX_KVS_WATCH | FLUX_KVS_WATCH_APPEND: the whole value first,
        then each appended chunk.  Never FLUX_KVS_WAITCREATE: see
        ``FluxJobSource`` (source.py) for why (it can abort the broker)."""
        ...

    def event_watch(self, jobid: int, eventlog: str) -> Watch:
        """job-info's eventlog watch (flux_job_event_watch): one entry per
        value, access checked; ends with ENODATA after ``clean``."""
        ...

    def wait(self, timeout: float) -> None:
        """Block until some watch has news, or ``timeout`` seconds."""
        ...


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
        self.notify: Callable[[], None] | None = None
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
        if self.notify is not None:
            self.notify()

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

    def __init__(self, flux: Any, handle: Any, own: bool = False) -> None:
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
        # Our own handle (``connect``): a synchronous request is answered
        # through this reactor (``_arm``, ``_sync``), 4x faster than
        # flux_future_wait_for, which clones the handle for each request
        # and requeues every other message that comes meanwhile (with
        # hundreds of jobs' watches streaming, most of fluxout's CPU).  A
        # caller's handle keeps wait_for: its reactor is the caller's.
        self.own = own
        self._noop = ffi.callback("void(flux_future_t *, void *)", _noop) if own else None
        # Lookups sent ahead (``prefetch``), by (key, flags), until asked for.
        self._ahead: dict[tuple[str, int], Any] = {}
        # Their tree lookups' keys, by future address, until they answer;
        # then the blobs sent for each key, in order (``_tree_answered``).
        self._trees: dict[int, str] = {}
        self._ahead_blobs: dict[str, deque[Any]] = {}
        self._blobs_ahead = 0  # sent ahead and not yet taken by a read
        self._no_content = False  # content.load refused: not the owner
        self._on_tree = ffi.callback("void(flux_future_t *, void *)", self._tree_answered)

    @classmethod
    def connect(cls, uri: str | None, job: str) -> FluxBoundary:
        flux = import_flux(job)
        try:
            handle = flux.Flux(uri) if uri else flux.Flux()
        except OSError as exc:
            where = uri or os.environ.get("FLUX_URI") or "the system instance (FLUX_URI is not set)"
            why = strerror(exc).removeprefix("Unable to connect to Flux: ")
            raise NoFluxError(job, f"cannot connect to Flux at {where}: {why}") from None
        return cls(flux, handle, own=True)

    # errors

    def _oserror(self, future: Any) -> OSError:
        num = self.ffi.errno or errno.EIO
        text = ""
        if future is not None and future != self.ffi.NULL:
            msg = self.lib.flux_future_error_string(future)
            if msg != self.ffi.NULL:
                text = self.ffi.string(msg).decode("utf-8", "replace")
        return OSError(num, text or os.strerror(num))

    def _arm(self, future: Any) -> Any:
        """A new request's future, registered with this reactor at once
        (own handle): its answer is taken in by the reactor whenever it
        runs, also while another request is waited for."""
        if self.own and future != self.ffi.NULL:
            self.lib.flux_future_then(future, -1.0, self._noop, self.ffi.NULL)
        return future

    def _sync(self, future: Any) -> None:
        """Wait for a future in short slices: Ctrl-C stays effective."""
        lib, ffi = self.lib, self.ffi
        if self.own:
            while not lib.flux_future_is_ready(future):
                rc = lib.flux_reactor_run(self.reactor, lib.FLUX_REACTOR_ONCE)
                self.flux.core.handle.Flux.raise_if_exception()
                if rc < 0:
                    raise _connection_lost()
            return
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
        future = self._ahead.pop((key, 0), None) if namespace is None else None
        if future is None:
            future = self._arm(self.lib.flux_kvs_lookup(self.h, ns, 0, key.encode()))
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
        if namespace is None and (key, 0) in self._ahead:
            # Sent ahead as a plain lookup (a value known to be small): one
            # request, not a tree and its blobs.
            value = self.lookup(key)
            return iter((value,)) if value is not None else None
        ns = namespace.encode() if namespace else ffi.NULL
        future = self._ahead.pop((key, lib.FLUX_KVS_TREEOBJ), None) if namespace is None else None
        if future is None:
            future = self._arm(lib.flux_kvs_lookup(self.h, ns, lib.FLUX_KVS_TREEOBJ, key.encode()))
        if future == ffi.NULL:
            raise self._oserror(None)
        ahead: deque[Any] | None = None
        try:
            self._sync(future)
            # Its blobs, if they were sent ahead when the tree answered.
            ahead = self._ahead_blobs.pop(key, None) if namespace is None else None
            if ahead is not None:
                self._blobs_ahead -= len(ahead)
            text = ffi.new("const char *[1]")
            if lib.flux_kvs_lookup_get_treeobj(future, text) < 0:
                exc = self._oserror(future)
                if isinstance(exc, FileNotFoundError):
                    return None
                raise exc
            tree = orjson.loads(ffi.string(text[0]))
        except BaseException:
            for blob in ahead or ():
                lib.flux_future_destroy(blob)
            raise
        finally:
            lib.flux_future_destroy(future)
        kind = tree.get("type") if isinstance(tree, dict) else None
        if kind != "valref" or not isinstance(tree.get("data"), list):
            for blob in ahead or ():
                lib.flux_future_destroy(blob)
            if kind == "val":
                return iter((base64.b64decode(tree.get("data") or ""),))
            raise IsADirectoryError(errno.EISDIR, f"{key}: not a value ({kind})")
        return self._blobs(tree["data"], key, namespace, ahead or deque())

    def _blobs(
        self, refs: list[str], key: str, namespace: str | None, pending: deque[Any]
    ) -> Iterator[bytes]:
        """The blobs ``refs`` in order, LOAD_WINDOW requests in flight (and
        ``pending``, the first of them already sent ahead)."""
        lib, ffi = self.lib, self.ffi
        data = ffi.new("const void *[1]")
        size = ffi.new("size_t *")
        sent = len(pending)
        first = True
        try:
            while sent < len(refs) or pending:
                while sent < len(refs) and len(pending) < LOAD_WINDOW:
                    digest = bytes.fromhex(refs[sent].partition("-")[2])
                    future = self._arm(
                        lib.flux_rpc_raw(
                            self.h, b"content.load", digest, len(digest), lib.FLUX_NODEID_ANY, 0
                        )
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
                            self._no_content = True
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

    def prefetch(self, keys: list[tuple[str, bool]]) -> None:
        """Send these lookups of the primary namespace now, each taken by
        the ``lookup`` (or, ``True``: the ``read``) of its key that comes
        later: reading many finished jobs one after the other, their
        requests overlap instead of waiting one round trip each.  Own
        handle only (the answers come through this reactor)."""
        if not self.own:
            return
        lib, ffi = self.lib, self.ffi
        for key, tree in keys:
            flags = lib.FLUX_KVS_TREEOBJ if tree else 0
            if (key, flags) in self._ahead:
                continue
            future = lib.flux_kvs_lookup(self.h, ffi.NULL, flags, key.encode())
            if future == ffi.NULL:
                continue
            if tree:
                # When its tree object answers, its blobs are sent too.
                self._trees[int(ffi.cast("uintptr_t", future))] = key
                lib.flux_future_then(future, -1.0, self._on_tree, ffi.NULL)
            else:
                self._arm(future)
            self._ahead[(key, flags)] = future

    def _tree_answered(self, future: Any, arg: Any) -> None:
        """A tree lookup sent ahead has answered: send its first blobs'
        content.load requests now, AHEAD_BLOBS in flight at most over all
        keys (the rest the read asks for itself).  Runs inside the reactor:
        must not raise."""
        lib, ffi = self.lib, self.ffi
        try:
            key = self._trees.pop(int(ffi.cast("uintptr_t", future)), None)
            room = AHEAD_BLOBS - self._blobs_ahead
            if key is None or room <= 0 or self._no_content:
                return
            text = ffi.new("const char *[1]")
            if lib.flux_kvs_lookup_get_treeobj(future, text) < 0:
                return
            tree = orjson.loads(ffi.string(text[0]))
            refs = tree.get("data") if isinstance(tree, dict) else None
            if tree.get("type") != "valref" or not isinstance(refs, list):
                return
            sent: deque[Any] = deque()
            for ref in refs[:room]:
                digest = bytes.fromhex(ref.partition("-")[2])
                blob = lib.flux_rpc_raw(
                    self.h, b"content.load", digest, len(digest), lib.FLUX_NODEID_ANY, 0
                )
                if blob == ffi.NULL:
                    break
                sent.append(self._arm(blob))
            self._blobs_ahead += len(sent)
            self._ahead_blobs[key] = sent
        except Exception:  # the read asks for them itself
            return

    def job_info_lookup(self, jobid: int, key: str) -> bytes | None:
        lib, ffi = self.lib, self.ffi
        payload = orjson.dumps({"id": jobid, "keys": [key], "flags": 0})
        future = self._arm(
            lib.flux_rpc(self.h, b"job-info.lookup", payload, lib.FLUX_NODEID_ANY, 0)
        )
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

    def rpc(self, topic: str, payload: dict[str, Any]) -> dict[str, Any]:
        lib, ffi = self.lib, self.ffi
        body = orjson.dumps(payload)
        future = lib.flux_rpc(self.h, topic.encode(), body, lib.FLUX_NODEID_ANY, 0)
        if future == ffi.NULL:
            raise self._oserror(None)
        try:
            waited = 0.0
            while lib.flux_future_wait_for(future, RPC_SLICE) < 0:
                if ffi.errno != errno.ETIMEDOUT:
                    if not lib.flux_future_is_ready(future):
                        raise _connection_lost()
                    break  # fulfilled with an error: the get reports it
                waited += RPC_SLICE
                if waited >= RPC_TIMEOUT:
                    raise TimeoutError(errno.ETIMEDOUT, f"{topic}: no answer")
            data = ffi.new("const void *[1]")
            size = ffi.new("size_t *")
            if lib.flux_rpc_get_raw(future, data, size) < 0:
                raise self._oserror(future)
            raw = bytes(ffi.buffer(data[0], size[0])).rstrip(b"\0") if size[0] else b"{}"
        finally:
            lib.flux_future_destroy(future)
        answer = orjson.loads(raw)
        return answer if isinstance(answer, dict) else {}

    def list_jobs(self, payload: dict[str, Any]) -> list[JobRecord]:
        lib, ffi = self.lib, self.ffi
        body = orjson.dumps(payload)
        # Armed, as every request on our own handle: _sync runs the reactor,
        # which takes in only the answers of futures registered with it.
        future = self._arm(
            lib.flux_rpc(
                self.h, b"job-list.list", body, lib.FLUX_NODEID_ANY, lib.FLUX_RPC_STREAMING
            )
        )
        if future == ffi.NULL:
            raise self._oserror(None)
        jobs: list[dict[str, Any]] = []
        first = True
        data = ffi.new("const void *[1]")
        size = ffi.new("size_t *")
        try:
            while True:
                self._sync(future)
                if lib.flux_rpc_get_raw(future, data, size) < 0:
                    exc = self._oserror(future)
                    if exc.errno == errno.ENODATA:
                        break  # the end of a streamed answer
                    raise exc
                raw = bytes(ffi.buffer(data[0], size[0])).rstrip(b"\0") if size[0] else b"{}"
                answer = orjson.loads(raw)
                jobs.extend(answer.get("jobs") or [])
                if first and not answer.get("version"):
                    break  # an answer of one message (job-list before version 1)
                first = False  # then more messages, until ENODATA
                lib.flux_future_reset(future)
        finally:
            lib.flux_future_destroy(future)
        return [record_of(job) for job in jobs]

    def watch(self, key: str, namespace: str | None = None) -> Watch:
        c = self.flux.constants
        # No FLUX_KVS_WAITCREATE, ever (source.py says why): a key or
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


def _noop(future: Any, arg: Any) -> None:
    """The continuation of a synchronous request (``_arm``): nothing to do."""


def _connection_lost() -> OSError:
    return ConnectionResetError(errno.ECONNRESET, "the broker closed the connection")


def strerror(exc: OSError) -> str:
    """What went wrong, as flux said it (or the errno's text)."""
    return exc.strerror or str(exc) or os.strerror(exc.errno or errno.EIO)


# How a Boundary is made for a URI.  Tests replace this with a fake.  Each
# job gets its own connection: the core may read several jobs at once, each
# in its own thread, and a flux handle is not to be shared between threads.
Connect = Callable[[str | None, str], Boundary]


def _connect(uri: str | None, job: str) -> Boundary:
    return FluxBoundary.connect(uri, job)


connect: Connect = _connect


def flux_job_exception() -> type[Exception] | None:
    """flux.job.JobException, when the Flux bindings and flux.job load
    (flux.job needs ply); None when they do not. fluxout.output raises it
    where flux.job.output does, and a stand-in when Flux is not there (a
    saved eventlog is read without it)."""
    import importlib

    try:
        import_flux("flux.job")
        cls = importlib.import_module("flux.job").JobException
    except Exception:
        return None
    return cls if isinstance(cls, type) and issubclass(cls, Exception) else None


# -- the futures of fluxout.output's *_async functions ------------------------


class Records(Protocol):
    """What a watch future feeds: one job's eventlog lines in, records out
    (fluxout.output's readers, over fluxout's decoder and pipeline)."""

    @property
    def wanted(self) -> frozenset[str]: ...
    def feed(self, eventlog: str, chunk: bytes) -> None: ...
    def finish(self) -> None: ...
    def take(self) -> list[Any]: ...


_UNSET = object()
_FUTURE_CLASS: type | None = None


def watch_future_class() -> type:
    """``JobWatchFuture``: a Flux future (flux.future.FutureExt) of one
    job's records, made when Flux is first needed (this module imports
    flux lazily).  fluxout.output's JobOutputWatch, JobOutputWatchLines and
    JobOutputEventWatch are its subclasses."""
    global _FUTURE_CLASS
    if _FUTURE_CLASS is None:
        _FUTURE_CLASS = _make_future_class(import_flux("flux.job.output"))
    return _FUTURE_CLASS


def _make_future_class(flux: Any) -> type:
    from _flux._core import ffi, lib
    from flux.future import Future, FutureExt
    from flux.util import interruptible

    class JobWatchFuture(FutureExt):  # type: ignore[misc]
        """One job's records as a Flux future, fulfilled once per record.

        As flux.job.output's watch futures: flux's own job-info eventlog
        watches (flux_job_event_watch) of the main eventlog until ``start``
        (and ``finish``, for the exceptions before it), of the exec eventlog
        until ``shell.init``, then of ``guest.output`` to its end, chained
        on the reactor of the handle the future runs on (the caller's, with
        ``then``; a temporary one in a blocking ``get``).  Their lines go to
        a ``Records`` reader (fluxout's decoder: whole lines, labels per
        line), and each record it gives fulfills this future once, with no
        payload: the records wait in a Python deque, so memory holds only
        what the caller has not taken yet.  The last fulfillment is ``end``.
        Errors as the original's: ENOENT "job ID not found", EIO "job ID
        never started", or the watch's own.
        """

        def __init__(
            self, flux_handle: Any, jobid: int, name: str, records: Records, nowait: bool, end: Any
        ) -> None:
            self._records = records
            self._jobid = jobid
            self._name = name
            self._nowait = nowait
            self._end = end
            self._items: deque[Any] = deque()
            self._current: Any = _UNSET
            self._watches: dict[str, Any] = {}
            self.started = False
            self.finished = False
            self.closed = False
            self._over = False
            super().__init__(self._watch_init, flux_handle=flux_handle)

        # the chain of eventlog watches

        def _watch_init(self, future: Any) -> None:
            self._watch(future.get_flux(), "guest.output" if self._nowait else "eventlog")

        def _watch(self, handle: Any, eventlog: str) -> None:
            raw = lib.flux_job_event_watch(handle.handle, self._jobid, eventlog.encode(), 0)
            if raw == ffi.NULL:
                self._fail(ffi.errno or errno.EIO, f"{eventlog}: cannot watch")
                return
            watch = Future(raw)
            self._watches[eventlog] = watch
            watch.then(self._ready, eventlog)

        def _unwatch(self, eventlog: str) -> None:
            watch = self._watches.pop(eventlog, None)
            if watch is not None:
                watch.stop()
                lib.flux_job_event_watch_cancel(watch.pimpl.handle)

        def _ready(self, watch: Any, eventlog: str) -> None:
            # Inside the reactor: an exception here would stop it.
            if self._over:
                return
            try:
                entry = ffi.new("const char *[1]")
                if lib.flux_job_event_watch_get(watch.pimpl.handle, entry) < 0:
                    num = ffi.errno or errno.EIO
                    self._watches.pop(eventlog, None)
                    watch.stop()
                    self._ended(watch, eventlog, num)
                    return
                line = ffi.string(entry[0])
                if not line.endswith(b"\n"):
                    line += b"\n"
                watch.reset()
                self._line(watch, eventlog, line)
            except Exception as exc:  # fluxout's bug: the caller's error, not the reactor's
                self._fail(errno.EIO, f"{type(exc).__name__}: {exc}")

        def _line(self, watch: Any, eventlog: str, line: bytes) -> None:
            log = "main" if eventlog == "eventlog" else "exec" if "exec" in eventlog else "output"
            name = None
            if log != "output":
                try:
                    name = orjson.loads(line).get("name")
                except (orjson.JSONDecodeError, AttributeError):
                    name = None
                if log == "main" and self.finished:
                    return  # exceptions after finish are not reported
            if log in self._records.wanted:
                self._records.feed(log, line)
                self._give()
            if log == "main":
                if name == "start" and not self.started:
                    self.started = True
                    self._watch(watch.get_flux(), "guest.exec.eventlog")
                elif name == "finish":
                    self.finished = True
                    self._unwatch("eventlog")
                    if self.closed:
                        self._finish()
            elif log == "exec" and name == "shell.init":
                self._unwatch("guest.exec.eventlog")
                self._watch(watch.get_flux(), "guest.output")

        def _ended(self, watch: Any, eventlog: str, num: int) -> None:
            if eventlog == "eventlog":
                if num == errno.ENOENT:
                    self._fail(num, f"job {self._name} not found")
                elif num != errno.ENODATA:
                    self._fail(num, _error_text(ffi, lib, watch, num))
                elif not self.started:
                    self._fail(errno.EIO, f"job {self._name} never started")
                else:
                    self.finished = True
                    if self.closed:
                        self._finish()
            elif num not in (errno.ENODATA, errno.ENOENT) and eventlog == "guest.output":
                self._fail(num, _error_text(ffi, lib, watch, num))
            elif eventlog == "guest.output" or num == errno.ENODATA:
                # The output is complete (or, the exec eventlog ended
                # without shell.init, there will be none).
                self.closed = True
                if self._nowait or self.finished:
                    self._finish()
            else:
                self._fail(num, _error_text(ffi, lib, watch, num))

        def _give(self) -> None:
            for item in self._records.take():
                self._items.append(item)
                self.pimpl.fulfill(ffi.NULL, ffi.NULL)

        def _finish(self) -> None:
            if self._over:
                return
            self._records.finish()
            self._give()
            self._over = True
            self._stop_watches()
            self._items.append(self._end)
            self.pimpl.fulfill(ffi.NULL, ffi.NULL)

        def _fail(self, num: int, text: str) -> None:
            if self._over:
                return
            self._over = True
            self._stop_watches()
            self.fulfill_error(num, text)

        def _stop_watches(self) -> None:
            for eventlog in list(self._watches):
                self._unwatch(eventlog)

        # the future's interface

        @interruptible  # type: ignore[untyped-decorator]
        def get(self) -> Any:
            """The current record (the same until ``reset``); OSError when
            the watch failed."""
            payload = ffi.new("void **")
            try:
                self.pimpl.get(payload)
            except OSError:
                self.raise_if_handle_exception()
                raise
            if self._current is _UNSET:
                self._current = self._items.popleft() if self._items else self._end
            return self._current

        def reset(self) -> None:
            self._current = _UNSET
            super().reset()

        def cancel(self, stop: bool = False) -> None:
            """Stop watching the job (no more records come)."""
            self._over = True
            self._stop_watches()
            if stop:
                self.stop()

    del flux
    return JobWatchFuture


def _error_text(ffi: Any, lib: Any, future: Any, num: int) -> str:
    msg = lib.flux_future_error_string(future.pimpl.handle)
    if msg != ffi.NULL:
        return str(ffi.string(msg).decode("utf-8", "replace"))
    return os.strerror(num)
