"""How fast this worker gets through its rows, and so how many it should hold in its lines.

The per-endpoint pace (``limits.py``) says how fast an endpoint could take rows. A worker short
of CPU (or waiting on its database) drains its lines slower than that, and rows it claimed
beyond what it starts within the hold are released from their lines and claimed again later:
the same rows leased, handed back and leased again, on the CPU that is already short (scenario 1
under load handed back 2,059 of 10,000 rows from its lines). So the worker claims only while
the rows waiting here would start within half the hold at the rate it really answers.
"""

from __future__ import annotations

# Answers are counted over windows of at least this long; the rate follows a change within a
# few windows.
WINDOW_S = 0.5
SMOOTHING = 0.5


class DrainRate:
    """Answers per second, a moving average over windows of ``WINDOW_S``; None until measured."""

    def __init__(self, mono: float) -> None:
        self._since = mono
        self._count = 0
        self.per_s: float | None = None

    def answered(self) -> None:
        self._count += 1

    def update(self, mono: float) -> None:
        elapsed = mono - self._since
        if elapsed < WINDOW_S:
            return
        rate = self._count / elapsed
        self.per_s = rate if self.per_s is None else self.per_s + SMOOTHING * (rate - self.per_s)
        self._since, self._count = mono, 0


def waiting_budget(per_s: float | None, hold_s: float, floor: int, ceiling: int) -> int:
    """Rows the lines may hold before claiming pauses: what starts within half the hold at
    ``per_s``, never under ``floor`` (a worker idle for a while still takes a full batch) nor
    over ``ceiling``."""
    if per_s is None:
        return ceiling
    return int(min(ceiling, max(floor, per_s * hold_s / 2)))
