"""Everything fluxout writes: job bytes, decorations, messages, JSON Lines.

Only this package imports rich, and only to build ANSI sequences once.
"""
