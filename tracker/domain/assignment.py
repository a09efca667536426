"""Who gets a new case when a shop assigns them automatically (自动分配).

First whoever can act on it soonest: an agent on shift now, else the one whose shift
starts first (a case opened at 20:00 goes to the late shift, not to the early one who
left at 15:00). Among those, the rule 客服负荷 gives supervisors: the fewest cases overdue
for a first contact (someone behind on deadlines should not be given more), then the
fewest open cases; ties go to the longest-serving account, so the order is stable and each
new case lifts its receiver's count, which turns equal loads into a rotation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Load:
    agent_id: int
    overdue: int  # open, never contacted, past the first-contact deadline
    open: int
    on_shift_at: datetime  # now when on shift, else when their shift next starts


def least_loaded(loads: Iterable[Load]) -> int | None:
    """The agent to give the next case to; None when nobody can take one."""
    best = min(
        loads,
        key=lambda load: (load.on_shift_at, load.overdue, load.open, load.agent_id),
        default=None,
    )
    return best.agent_id if best is not None else None
