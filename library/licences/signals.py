"""Events of lending (blinker). Receivers run inside the sender's unit of work.

``copies_freed`` is how a copy reaches the hold queue in the same transaction that freed it:
loans send it when a loan ends (return, expiry, revocation), licences when one is added or its
concurrency raised, and holds (above both) make the first waiting hold ready. The sender holds
the item's row lock, so the receiver decides under it too.
"""

from __future__ import annotations

from datetime import datetime

from blinker import Namespace

from media.models import MediaItem

_signals = Namespace()

# Copies of an item may have become free. Sender: the MediaItem (locked). Keywords: now.
copies_freed = _signals.signal("library-copies-freed")


def announce_copies_freed(item: MediaItem, now: datetime) -> None:
    """Send ``copies_freed``; fail loudly when nobody listens (a copy would sit idle while
    patrons wait)."""
    if not copies_freed.receivers:
        raise RuntimeError("nobody hands freed copies on: library.holds is not loaded")
    copies_freed.send(item, now=now)
