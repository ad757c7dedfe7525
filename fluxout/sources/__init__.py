"""Where eventlogs come from: saved files and stdin (file.py), or a live
Flux instance (flux.py, the only module that imports flux)."""

from fluxout.sources.base import EVENTLOGS, Source

__all__ = ["EVENTLOGS", "Source"]
