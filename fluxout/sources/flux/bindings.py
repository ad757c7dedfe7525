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
