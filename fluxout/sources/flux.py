"""A live Flux instance: the only module that imports flux (lazily)."""

from __future__ import annotations

from typing import Any

from fluxout.errors import NoFluxError
from fluxout.jobid import format_jobid
from fluxout.sources.base import Source


def import_flux(job: str) -> Any:
    """Import the Flux bindings, or say in one line what is missing."""
    try:
        import flux
    except Exception as exc:  # ImportError, or OSError from a missing libflux-core
        raise NoFluxError(
            job,
            f"the Flux Python bindings cannot be loaded ({exc}); reading a job by id "
            "needs a Flux instance and libflux-core. To read a saved eventlog, "
            "give its path (e.g. ./output.eventlog)",
        ) from None
    return flux


def open_job(jobid: int, spelled: str, uri: str | None) -> Source:
    import_flux(spelled)
    raise NoFluxError(
        format_jobid(jobid),
        "reading a job from a live Flux instance is not implemented yet; "
        "give the path of a saved eventlog instead",
    )
