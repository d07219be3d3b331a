"""What lending adds to the media catalogue: the "available now" filter and its cache version.

The catalogue asks a registered condition (``media.catalogue.search.register_availability``)
instead of importing the library; availability is the same formula as everywhere else
(``availability.free_copies_sql``). Answers filtered by it are cached under the
``media_availability`` version, which licence changes move (their counters change with every
loan, return and ready hold): a loan renews those answers only, never the rest of the
catalogue (``media/catalogue/cache.py``).
"""

from __future__ import annotations

from library.licences.availability import available_now_condition
from library.models import Licence
from media.catalogue.cache import MEDIA_AVAILABILITY
from media.catalogue.search import register_availability
from vhs.cache import track


def plug_into_catalogue() -> None:
    """Register the filter's condition and the sources of its cache version."""
    track(MEDIA_AVAILABILITY, Licence)
    register_availability(available_now_condition)
