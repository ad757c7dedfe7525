"""A live Flux instance: the only package that imports flux (lazily).

Three modules, one concern each:

* ``bindings``: finding the Flux Python bindings and loading them, also
  from a venv whose Python is not the one flux was built for;
* ``boundary``: the narrow boundary to libflux (``Boundary``, and the real
  ``FluxBoundary`` over a handle, its RPCs and futures); tests replace it
  with a fake (tests/fakeflux.py) through ``boundary.connect``;
* ``source``: ``FluxJobSource``, the Source the core reads: what to read,
  from where, which watches to open when, and when a job is over.

Only ``bindings`` and ``boundary`` touch flux.
"""

from fluxout.sources.flux.bindings import binding_dirs, import_flux
from fluxout.sources.flux.boundary import Boundary, FluxBoundary, Watch
from fluxout.sources.flux.source import FluxJobSource, open_job

__all__ = [
    "Boundary",
    "FluxBoundary",
    "FluxJobSource",
    "Watch",
    "binding_dirs",
    "import_flux",
    "open_job",
]
