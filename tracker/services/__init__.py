"""Use cases over a database session. Each takes ``session`` and ``now`` and owns the
commit boundary; none imports Flask."""
