"""Review sources. Each adapter yields the same plain :class:`ReviewRecord` values."""
