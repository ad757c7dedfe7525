"""Finding the Flux Python bindings, and loading them.

A plain ``import flux`` first; when that fails (the flux-python wheel
without libflux-core behind it, or a venv Python that is not the one flux
was built for), the bindings of the ``flux`` command on PATH are tried.
One of the modules of this package that import flux (with boundary.py).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from fluxout.errors import NoFluxError


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
    raise _no_bindings(job, first, tried)


READ_SAVED = "or read a saved eventlog by its path (./output.eventlog)"


def _no_bindings(job: str, first: Exception, tried: list[str]) -> NoFluxError:
    """What was found and what to do, in two short lines."""
    here = f"Python {sys.version_info.major}.{sys.version_info.minor}"
    cmd = shutil.which("flux")
    if cmd is None:
        return NoFluxError(
            job,
            f"cannot read a job by id: the Flux Python bindings do not load ({first})",
            f"put flux-core's flux command on PATH, {READ_SAVED}",
        )
    if tried:
        return NoFluxError(
            job,
            f"cannot read a job by id: the bindings of {cmd} do not load in {here}",
            f"install fluxout for the Python that flux was built for, {READ_SAVED}",
        )
    others = _other_versions(cmd)
    has = f"bindings for Python {', '.join(others)} only" if others else "no Python bindings"
    return NoFluxError(
        job,
        f"cannot read a job by id: {cmd} has {has}, and this is {here}",
        f"install fluxout for the Python that flux was built for, {READ_SAVED}",
    )


def _other_versions(cmd: str) -> list[str]:
    """The Python versions (``3.9``) that the flux command has bindings for."""
    prefix = Path(os.path.realpath(cmd)).parent.parent
    found = set()
    for pattern in ("lib/flux/python3.*/flux", "lib*/python3.*/*-packages/flux"):
        for path in glob.glob(str(prefix / pattern)):
            for part in Path(path).parts:
                if part.startswith("python3."):
                    found.add(part.removeprefix("python"))
    return sorted(found, key=lambda v: [int(n) for n in v.split(".") if n.isdigit()])
