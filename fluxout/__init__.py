"""fluxout: read and follow the output and events of Flux jobs.

As a library: ``fluxout.library`` (Line records and eventlog entries of one
job or many, with the command line's filters) and ``fluxout.output``
(flux.job.output's interface).
"""

__version__ = "0.1.0"
