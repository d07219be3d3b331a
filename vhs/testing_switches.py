"""Switches that only tests flip, to prove a safeguard matters (a control run must fail)."""

from __future__ import annotations

# When True, ``vhs.db.lock`` loads rows without FOR UPDATE: the concurrency tests use this
# to show that without the lock, seats are overbooked.
disable_row_locks = False
