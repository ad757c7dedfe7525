"""Every exit status of fluxout, and the one place outcomes become them.

``run_main`` runs the command line and maps every outcome to its status:
usage errors 2 (Click's, mapped by the CLI), runtime errors 1 with one line
``fluxout: <job>: <message>``, Ctrl-C 130, SIGTERM 143, a closed pipe 141
(as a program killed by SIGPIPE), and the job's status for ``follow``. It
knows nothing of Click: the CLI hands it the command line to run and a
mapping of Click's own exceptions.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from collections.abc import Callable
from enum import IntEnum
from typing import BinaryIO, NamedTuple, NoReturn

from fluxout.errors import FluxoutError, OutputWriteError


class ExitStatus(IntEnum):
    """The statuses of DESIGN.md (a followed job's own status aside)."""

    SUCCESS = 0
    ERROR = 1  # runtime error: no such job, unreadable eventlog, bad data
    USAGE = 2  # bad option, jobid or idset (Click's usage status)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT): follow detaches, the job goes on
    BROKEN_PIPE = 128 + signal.SIGPIPE  # 141: a closed pipe, as if SIGPIPE killed us
    TERMINATED = 128 + signal.SIGTERM  # 143: SIGTERM, once output is flushed


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


class _Terminated(BaseException):
    """SIGTERM, turned into an exception so output is flushed on the way out."""


def _quiet_stdout() -> None:
    # After a closed pipe, point stdout at /dev/null so the interpreter's
    # final flush cannot fail again and print a traceback.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # an injected stream has no fd
        pass


# Whether stderr is a terminal, when run_main was handed the caller's
# streams (an injected terminal); None: ask the process's stderr.
_stderr_tty: bool | None = None


def _closed_standard_fds() -> set[int]:
    """Which of stdin, stdout and stderr fluxout was started without
    (``>&-``): each is pointed at /dev/null, so that no file fluxout opens
    later takes its number (and its place)."""
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
    for fd in sorted(closed):
        null = os.open(os.devnull, os.O_RDWR)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    if 1 in closed:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
    if 2 in closed:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    return closed


def run_main(
    invoke: Callable[[list[str]], None],
    argv: list[str] | None,
    known: Callable[[Exception], int | None],
    streams: Streams | None = None,
) -> NoReturn:
    """Run ``invoke`` on the arguments and exit with the outcome's status.

    ``invoke`` leaves with SystemExit(status) when a command ran; ``known``
    gives the status of an exception that is the caller's to map (Click's
    usage errors, --help), or None for any other. ``streams`` are the
    caller's own (an injected terminal): fluxout's errors and Click's help
    go there, not to the process's stdout and stderr.
    """
    if streams is None:
        _run(invoke, argv, known, _closed_standard_fds())
    global _stderr_tty
    saved = sys.stdout, sys.stderr
    sys.stdout = io.TextIOWrapper(streams.stdout, "utf-8", write_through=True)
    sys.stderr = io.TextIOWrapper(streams.stderr, "utf-8", "backslashreplace", write_through=True)
    _stderr_tty = streams.stderr_tty
    try:
        _run(invoke, argv, known, set())
    finally:
        for wrapper in (sys.stdout, sys.stderr):
            if isinstance(wrapper, io.TextIOWrapper) and not wrapper.closed:
                wrapper.flush()
                wrapper.detach()  # the caller's stream stays open
        sys.stdout, sys.stderr = saved
        _stderr_tty = None


class Streams(NamedTuple):
    """The caller's stdout and stderr (binary), and whether stderr is a terminal."""

    stdout: BinaryIO
    stderr: BinaryIO
    stderr_tty: bool


def _run(
    invoke: Callable[[list[str]], None],
    argv: list[str] | None,
    known: Callable[[Exception], int | None],
    closed: set[int],
) -> NoReturn:
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    if 1 in closed:
        # As cat: output with nowhere to go is an error, said on stderr.
        error_line("cannot write to stdout: it is closed")
        sys.exit(ExitStatus.ERROR)
    if 0 in closed:
        from fluxout.sources import file

        file.STDIN_CLOSED = True
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        invoke(list(argv if argv is not None else sys.argv[1:]))
        status: int = ExitStatus.SUCCESS
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else ExitStatus.ERROR
    except KeyboardInterrupt:
        status = ExitStatus.INTERRUPTED
    except _Terminated:
        status = ExitStatus.TERMINATED
    except BrokenPipeError:
        _quiet_stdout()
        status = ExitStatus.BROKEN_PIPE
    except FluxoutError as exc:
        error_line(str(exc))
        if exc.hint:
            error_line(exc.hint)
        status = ExitStatus.ERROR
    except OutputWriteError as exc:
        _quiet_stdout()
        error_line(str(exc))
        status = ExitStatus.ERROR
    except Exception as exc:
        mapped = known(exc)
        if mapped is not None:
            status = mapped
        else:
            # A bug: one line, and the traceback only when asked for.
            if debug:
                raise
            error_line(f"internal error: {type(exc).__name__}: {exc} (--debug shows where)")
            status = ExitStatus.ERROR
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        _quiet_stdout()
    sys.exit(status)


def error_line(text: str) -> None:
    # Outside a run there is no Output: decide on escaping here, the same way.
    try:
        if _stderr_tty if _stderr_tty is not None else sys.stderr.isatty():
            from fluxout.render.escape import escape_controls

            text = escape_controls(text)
        sys.stderr.write(f"fluxout: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
