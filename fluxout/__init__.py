"""fluxout: read and follow the output and events of Flux jobs."""

__version__ = "0.1.0"
