"""What the OPDS feeds hold, whatever their format: navigation, acquisition pages with facets
and pagination, and the availability an entry's borrow link carries.

A feed is built once here as plain data (:class:`Feed`); ``atom`` writes it as OPDS 1.2 and
``opds2`` as OPDS 2.0, so both versions always say the same. Pages come from the catalogue's
own search (``media.catalogue.search``: the same ranking, stemming and facets as ``/media``);
availability from the lending formula (``licences.availability``) and the hold queues, for a
whole page in two statements. Public feeds carry no patron's state: they are cached and the
same for everyone (the shelf, and the answers to borrow and revoke, are the patron's own; a
feed asked for with a patron's credentials gets their entries laid over it: ``overlay``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from library import rules
from library.access.services import FileLink
from library.circulation.services import HoldView
from library.holds.services import queue_lengths
from library.licences.availability import Copies, items_copies
from library.licences.providers import ExternalLink
from library.models import Loan
from media.catalogue.labels import KIND_LABELS
from media.catalogue.search import PER_PAGE_MAX, MediaQuery, search
from media.models import MediaItem, MediaKind, PublicationState, Subject
from vhs.db import db, utcnow
from vhs.errors import Invalid, NotFound

# --- media types and relations (OPDS 1.2, OPDS 2.0, Authentication for OPDS 1.0) -------------

NAVIGATION = "application/atom+xml;profile=opds-catalog;kind=navigation"
ACQUISITION = "application/atom+xml;profile=opds-catalog;kind=acquisition"
ENTRY = "application/atom+xml;type=entry;profile=opds-catalog"
OPDS2 = "application/opds+json"
PUBLICATION2 = "application/opds-publication+json"
AUTH_DOCUMENT = "application/vnd.opds.authentication.v1.0+json"
OPENSEARCH = "application/opensearchdescription+xml"
HTML = "text/html"

REL_BORROW = "http://opds-spec.org/acquisition/borrow"
REL_ACQUISITION = "http://opds-spec.org/acquisition"
REL_REVOKE = "http://librarysimplified.org/terms/rel/revoke"  # as Palace names it
REL_SHELF = "http://opds-spec.org/shelf"
REL_AUTH = "http://opds-spec.org/auth/document"
REL_FACET = "http://opds-spec.org/facet"
REL_IMAGE = "http://opds-spec.org/image"
REL_THUMBNAIL = "http://opds-spec.org/image/thumbnail"
REL_NEW = "http://opds-spec.org/sort/new"
REL_SUBSECTION = "subsection"

PER_PAGE_DEFAULT = 50
PAGE_MAX = 10_000  # deeper than any catalogue; keeps OFFSET bounded
NAVIGATION_PAGE = 100  # subjects and series listed per page
SORTS = ("new", "title", "relevance")
TEXT_MAX = {"q": 200, "subject": 200, "series": 300, "language": 3}


def endpoint(name: str, version: int) -> str:
    """The endpoint of a feed in OPDS ``version`` (1: Atom, 2: JSON)."""
    return f"opds.{name}" if version == 1 else f"opds.{name}_v2"


def url(name: str, version: int, **values: Any) -> str:
    """The absolute URL of a feed or action in ``version`` (apps resolve nothing relative)."""
    return url_for(endpoint(name, version), _external=True, **values)


def feed_type(kind: str, version: int) -> str:
    """The media type of a feed of ``kind`` (navigation/acquisition) in ``version``."""
    if version == 2:
        return OPDS2
    return NAVIGATION if kind == "navigation" else ACQUISITION


# --- the data ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    """A link of a feed: pagination, facets, search, the shelf, the authentication document."""

    href: str
    rel: str
    type: str
    title: str | None = None
    facet_group: str | None = None
    active: bool = False
    count: int | None = None
    templated: bool = False


@dataclass(frozen=True)
class Offer:
    """What a public entry's borrow link says: the item's copies and its queue now."""

    copies: Copies
    holds: int

    @property
    def status(self) -> str:
        """``available`` with a free copy, else ``unavailable`` (borrowing then reserves)."""
        return "available" if self.copies.available > 0 else "unavailable"


@dataclass
class Entry:
    """A publication in a feed, with the public offer or the patron's own loan or hold."""

    item: MediaItem
    offer: Offer | None = None
    loan: Loan | None = None
    files: tuple[FileLink, ...] = ()
    external: tuple[ExternalLink, ...] = ()  # a distributor's links of the loan (LCP licence)
    hold: HoldView | None = None


@dataclass(frozen=True)
class NavEntry:
    """An entry of a navigation feed: a title and the feed it leads to."""

    key: str  # stable within the feed (the entry's id is made from it)
    title: str
    href: str
    kind: str  # "navigation" or "acquisition"
    count: int | None = None
    rel: str = REL_SUBSECTION


@dataclass
class Feed:
    """A whole feed, ready to be written as Atom or JSON."""

    self_href: str
    title: str
    kind: str  # "navigation" or "acquisition"
    version: int
    updated: datetime
    links: list[Link] = field(default_factory=list)
    facets: list[Link] = field(default_factory=list)
    navigation: list[NavEntry] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    total: int | None = None
    page: int | None = None
    per_page: int | None = None


EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def common_links(version: int) -> list[Link]:
    """What every feed links to: the start, the search, the shelf, the authentication
    document, and the same feed in the other OPDS version (set by the caller)."""
    return [
        Link(url("root", version), "start", feed_type("navigation", version), _("Catalogue")),
        Link(
            url("search", version) + "{?query}"
            if version == 2
            else url_for("opds.opensearch", _external=True),
            "search",
            OPDS2 if version == 2 else OPENSEARCH,
            _("Search"),
            templated=version == 2,
        ),
        Link(url("shelf", version), REL_SHELF, feed_type("acquisition", version), _("My shelf")),
        Link(url_for("opds.auth_document", _external=True), REL_AUTH, AUTH_DOCUMENT),
    ]


def alternate(version: int, name: str, **values: Any) -> Link:
    """The same feed in the other OPDS version."""
    other = 2 if version == 1 else 1
    kind = "navigation" if name in ("root", "subjects", "series") else "acquisition"
    return Link(url(name, other, **values), "alternate", feed_type(kind, other))


# --- the navigation feeds ----------------------------------------------------------------------

KIND_FEEDS = {
    MediaKind.EBOOK: _l("E-books"),
    MediaKind.AUDIOBOOK: _l("Audiobooks"),
    MediaKind.EMAGAZINE: _l("E-magazines"),
    MediaKind.VIDEO: _l("Videos"),
    MediaKind.DOCUMENT: _l("Documents"),
}


def root(version: int) -> Feed:
    """The navigation root: new media, each kind, subjects, series and the shelf."""
    acquisition = "acquisition"
    nav = [
        NavEntry(
            "new", _("New in the catalogue"), url("catalogue", version), acquisition, rel=REL_NEW
        )
    ]
    nav += [
        NavEntry(
            f"kind-{kind.value}",
            str(label),
            url("catalogue", version, kind=kind.value),
            acquisition,
        )
        for kind, label in KIND_FEEDS.items()
    ]
    nav += [
        NavEntry("subjects", _("By subject"), url("subjects", version), "navigation"),
        NavEntry("series", _("By series"), url("series", version), "navigation"),
        NavEntry("shelf", _("My shelf"), url("shelf", version), acquisition, rel=REL_SHELF),
    ]
    return Feed(
        self_href=url("root", version),
        title=_("%(library)s: e-media", library=_library_name()),
        kind="navigation",
        version=version,
        updated=_catalogue_updated(),
        links=[*common_links(version), alternate(version, "root")],
        navigation=nav,
    )


def subjects(version: int) -> Feed:
    """The most used keywords of the published catalogue, each leading to its items."""
    count = sa.func.count().label("n")
    rows = db.session.execute(
        sa.select(Subject.term, count)
        .join(MediaItem, MediaItem.id == Subject.item_id)
        .where(MediaItem.state == PublicationState.PUBLISHED)
        .group_by(Subject.term)
        .order_by(count.desc(), Subject.term)
        .limit(NAVIGATION_PAGE)
    ).all()
    nav = [
        NavEntry(f"subject-{term}", term, url("catalogue", version, subject=term), "acquisition", n)
        for term, n in sorted(rows, key=lambda r: r[0].casefold())
    ]
    return Feed(
        self_href=url("subjects", version),
        title=_("By subject"),
        kind="navigation",
        version=version,
        updated=_catalogue_updated(),
        links=[*common_links(version), alternate(version, "subjects")],
        navigation=nav,
    )


def series(version: int, page: int) -> Feed:
    """The catalogue's series in alphabetical order, a page at a time."""
    count = sa.func.count().label("n")
    base = (
        sa.select(MediaItem.series_title, count)
        .where(MediaItem.state == PublicationState.PUBLISHED, MediaItem.series_title != "")
        .group_by(MediaItem.series_title)
    )
    rows = db.session.execute(
        base.order_by(MediaItem.series_title)
        .limit(NAVIGATION_PAGE + 1)
        .offset((page - 1) * NAVIGATION_PAGE)
    ).all()
    nav = [
        NavEntry(f"series-{name}", name, url("catalogue", version, series=name), "acquisition", n)
        for name, n in rows[:NAVIGATION_PAGE]
    ]
    links = [*common_links(version), alternate(version, "series", page=page)]
    nav_type = feed_type("navigation", version)
    links.append(Link(url("series", version), "first", nav_type))
    if page > 1:
        links.append(Link(url("series", version, page=page - 1), "previous", nav_type))
    if len(rows) > NAVIGATION_PAGE:
        links.append(Link(url("series", version, page=page + 1), "next", nav_type))
    return Feed(
        self_href=url("series", version, page=page) if page > 1 else url("series", version),
        title=_("By series"),
        kind="navigation",
        version=version,
        updated=_catalogue_updated(),
        links=links,
        navigation=nav,
        page=page,
        per_page=NAVIGATION_PAGE,
    )


# --- acquisition feeds -------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueArgs:
    """What an acquisition feed was asked for (checked: unknown values are refused)."""

    q: str = ""
    kind: MediaKind | None = None
    subject: str = ""
    series: str = ""
    language: str = ""
    sort: str = ""
    page: int = 1
    per_page: int = PER_PAGE_DEFAULT

    def values(self, **changes: Any) -> dict[str, Any]:
        """The query parameters that ask for this feed again (with ``changes``)."""
        out: dict[str, Any] = {
            "q": self.q,
            "kind": self.kind.value if self.kind else "",
            "subject": self.subject,
            "series": self.series,
            "language": self.language,
            "sort": self.sort,
            "page": self.page if self.page > 1 else "",
            "per_page": self.per_page if self.per_page != PER_PAGE_DEFAULT else "",
        }
        out.update(changes)
        if out["page"] == 1:
            out["page"] = ""  # page 1 has one address: without the parameter
        return {k: v for k, v in out.items() if v not in ("", None)}


def _number(args: Any, name: str, default: int, low: int, high: int, errors: dict) -> int:
    raw = args.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        errors[name] = [_l("Enter a whole number from %(low)d to %(high)d.", low=low, high=high)]
        return default
    return int(raw)


def parse_args(args: Any, *, search: bool = False) -> CatalogueArgs:
    """The feed's query parameters, checked (422 ``invalid`` naming each bad one)."""
    errors: dict[str, list[Any]] = {}
    texts = {}
    for name, limit in TEXT_MAX.items():
        value = args.get("query" if name == "q" and "query" in args else name, "").strip()
        if len(value) > limit:
            errors[name] = [_l("At most %(n)d characters.", n=limit)]
            value = ""
        texts[name] = value
    kind = None
    if args.get("kind"):
        try:
            kind = MediaKind(args["kind"])
        except ValueError:
            errors["kind"] = [_l("Not a kind of medium.")]
    sort = args.get("sort", "")
    if sort and sort not in SORTS:
        errors["sort"] = [_l("Not a sort order.")]
    page = _number(args, "page", 1, 1, PAGE_MAX, errors)
    per_page = _number(args, "per_page", PER_PAGE_DEFAULT, 1, PER_PAGE_MAX, errors)
    if search and not texts["q"]:
        errors["q"] = [_l("Enter what to search for.")]
    if errors:
        raise Invalid(errors=errors)
    return CatalogueArgs(
        q=texts["q"],
        kind=kind,
        subject=texts["subject"],
        series=texts["series"],
        language=texts["language"],
        sort=sort if sort in SORTS else "",
        page=page,
        per_page=per_page,
    )


def _feed_title(args: CatalogueArgs) -> str:
    if args.q:
        return _("Search: %(q)s", q=args.q)
    if args.series:
        return _("Series: %(name)s", name=args.series)
    if args.subject:
        return _("Subject: %(name)s", name=args.subject)
    if args.kind is not None:
        return str(KIND_FEEDS[args.kind])
    return _("New in the catalogue")


def catalogue(version: int, args: CatalogueArgs, *, name: str = "catalogue") -> Feed:
    """An acquisition feed: a page of the catalogue (new, by kind, subject or series, or a
    search) with facets, pagination and each entry's offer."""
    query = MediaQuery(
        q=args.q,
        kind=args.kind,
        subject=args.subject or None,
        series=args.series or None,
        language=args.language or None,
        sort=args.sort,
        page=args.page,
        per_page=args.per_page,
    )
    result = search(query)
    entries = public_entries(result.items)
    acquisition = feed_type("acquisition", version)
    links = [*common_links(version), alternate(version, name, **args.values())]
    last = result.pages
    links.append(Link(url(name, version, **args.values(page="")), "first", acquisition))
    if args.page > 1:
        links.append(
            Link(
                url(name, version, **args.values(page=min(args.page - 1, last))),
                "previous",
                acquisition,
            )
        )
    if args.page < last:
        links.append(
            Link(url(name, version, **args.values(page=args.page + 1)), "next", acquisition)
        )
    links.append(Link(url(name, version, **args.values(page=last)), "last", acquisition))
    return Feed(
        self_href=url(name, version, **args.values()),
        title=_feed_title(args),
        kind="acquisition",
        version=version,
        updated=max((e.item.updated_at for e in entries), default=EPOCH),
        links=links,
        facets=_facets(version, name, args, result.facets),
        entries=entries,
        total=result.total,
        page=args.page,
        per_page=args.per_page,
    )


def _facets(version: int, name: str, args: CatalogueArgs, found: dict[str, Any]) -> list[Link]:
    """Facet links (OPDS 1.2 section 7.4): sort order, kind and language of the results."""
    acquisition = feed_type("acquisition", version)
    sort_group, kind_group, language_group = _("Sort"), _("Kind"), _("Language")
    out = []
    sorts = [("new", _("Newly added")), ("title", _("Title"))]
    if args.q:
        sorts.insert(0, ("relevance", _("Best match")))
    current = args.sort or ("relevance" if args.q else "new")
    for value, title in sorts:
        href = url(name, version, **args.values(sort=value, page=""))
        out.append(Link(href, REL_FACET, acquisition, title, sort_group, current == value))
    for facet in found.get("kind", []):
        kind = facet.value
        href = url(name, version, **args.values(kind=kind.value, page=""))
        out.append(
            Link(
                href,
                REL_FACET,
                acquisition,
                str(KIND_LABELS[kind]),
                kind_group,
                kind is args.kind,
                facet.count,
            )
        )
    for facet in found.get("language", [])[:10]:
        href = url(name, version, **args.values(language=facet.value, page=""))
        active = facet.value == args.language
        out.append(
            Link(href, REL_FACET, acquisition, facet.value, language_group, active, facet.count)
        )
    return out


def with_details(items: list[MediaItem]) -> list[MediaItem]:
    """The items with their numbers, keywords and files loaded (one statement each)."""
    items_with_details([item.id for item in items])
    return items


def items_with_details(ids: list[int]) -> dict[int, MediaItem]:
    """Items by id, with their numbers, keywords, files and people (five statements)."""
    if not ids:
        return {}
    found = db.session.execute(
        sa.select(MediaItem)
        .where(MediaItem.id.in_(ids))
        .options(
            selectinload(MediaItem.identifiers),
            selectinload(MediaItem.subjects),
            selectinload(MediaItem.files),
            selectinload(MediaItem.contributors),
        )
    ).scalars()
    return {item.id: item for item in found}


def public_entries(items: list[MediaItem], now: datetime | None = None) -> list[Entry]:
    """Entries with their offers: the copies and queues of the whole page in two statements."""
    with_details(items)
    return offered(items, now)


def offered(items: list[MediaItem], now: datetime | None = None) -> list[Entry]:
    """Entries of items whose details are loaded, with their offers (two statements)."""
    now = now or utcnow()
    ids = [item.id for item in items]
    copies = items_copies(ids, now)
    queues = queue_lengths(ids)
    return [Entry(item=item, offer=Offer(copies[item.id], queues[item.id])) for item in items]


def published_item(item_id: int) -> MediaItem:
    """A published item with its details (404 ``media_not_found`` for anything else)."""
    item = db.session.get(MediaItem, item_id)
    if item is None or item.state is not PublicationState.PUBLISHED:
        raise NotFound(
            _l("This medium does not exist or is not in the catalogue."), code="media_not_found"
        )
    return with_details([item])[0]


def item_details(item_id: int) -> MediaItem:
    """Any item with its details, whatever its state (one's loan of an item since withdrawn
    still shows on the shelf and can be returned)."""
    item = db.session.get(MediaItem, item_id)
    if item is None:
        raise NotFound(
            _l("This medium does not exist or is not in the catalogue."), code="media_not_found"
        )
    return with_details([item])[0]


def _library_name() -> str:
    return rules.library_name()


def _catalogue_updated() -> datetime:
    """When the published catalogue last changed (navigation feeds' ``updated``)."""
    value = db.session.scalar(
        sa.select(sa.func.max(MediaItem.updated_at)).where(
            MediaItem.state == PublicationState.PUBLISHED
        )
    )
    if value is None:
        return EPOCH
    return value if value.tzinfo else value.replace(tzinfo=UTC)
