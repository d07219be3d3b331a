"""Events of media files (blinker), for the catalogue and for tests to observe.

Receivers run inside the sender's unit of work: the catalogue keeps an item's search text
current when metadata from a file was accepted into it.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Fields of an item were set from a file (or a cover uploaded). Sender: the MediaItem.
# Keywords: actor, fields (names from media.ingest.proposal.FIELDS).
item_described = _signals.signal("media-item-described")
