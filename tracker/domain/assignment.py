"""Who gets a new case when a shop assigns them automatically (自动分配).

The rule 客服负荷 gives supervisors, applied by the tracker: the agent with the fewest cases
overdue for a first contact (someone behind on deadlines should not be given more), then
the fewest open cases; ties go to the longest-serving account, so the order is stable and
each new case lifts its receiver's count, which turns equal loads into a rotation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Load:
    agent_id: int
    overdue: int  # open, never contacted, past the first-contact deadline
    open: int


def least_loaded(loads: Iterable[Load]) -> int | None:
    """The agent to give the next case to; None when nobody can take one."""
    best = min(loads, key=lambda load: (load.overdue, load.open, load.agent_id), default=None)
    return best.agent_id if best is not None else None
