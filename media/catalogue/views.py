"""Public pages: the media catalogue with search, filters and facets, and the item page."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from media import rules
from media.blueprints import media as bp
from media.catalogue import cache as media_cache
from media.catalogue import services
from media.catalogue.labels import KIND_LABELS, labels, language_name
from media.catalogue.search import SORTS, MediaQuery, search
from media.models import MediaItem, MediaKind, PublicationState
from vhs.auth import current
from vhs.db import db
from vhs.main import register_home_section, register_nav

PER_PAGE = 20
PAGE_MAX = 10_000

# What other domains offer for a published item (the library: borrow or reserve it), as links
# on its page: (endpoint taking ``item_id``, label). Static links only, so cached pages stay
# right; the target page shows what changes by the minute.
_item_actions: list[tuple[str, Any]] = []


def register_item_action(endpoint: str, label: Any) -> None:
    """Offer a page about a published item (an endpoint with an ``item_id``) on its page."""
    if all(existing != endpoint for existing, _label in _item_actions):
        _item_actions.append((endpoint, label))


def _text_arg(name: str, limit: int) -> str:
    """A text argument, cut to ``limit`` characters."""
    # PostgreSQL refuses NUL characters in text parameters (a 500 otherwise).
    return (request.args.get(name) or "").replace("\x00", "").strip()[:limit]


def _int_arg(name: str, allowed: Any) -> int | None:
    """A whole-number argument if it is one of ``allowed``, else None."""
    raw = request.args.get(name, "").strip()
    if not raw.isdigit() or len(raw) > 6:
        return None
    value = int(raw)
    return value if value in allowed else None


def query_from_request() -> MediaQuery:
    """Read the search form and facet links; unknown or malformed values are ignored."""
    kind = request.args.get("kind")
    sort = request.args.get("sort", "")
    return MediaQuery(
        q=_text_arg("q", 200),
        kind=MediaKind(kind) if kind in {k.value for k in MediaKind} else None,
        language=rules.normalise_language(_text_arg("language", 3)) or None,
        subject=_text_arg("subject", rules.SUBJECT_MAX) or None,
        audience=_int_arg("audience", rules.AGE_RATINGS),
        year_from=_int_arg("year_from", rules.YEAR),
        year_to=_int_arg("year_to", rules.YEAR),
        series=_text_arg("series", rules.SERIES_TITLE_MAX) or None,
        contributor=_text_arg("contributor", rules.CONTRIBUTOR_NAME_MAX) or None,
        available=request.args.get("available") == "1",
        sort=sort if sort in SORTS else "",
        page=_int_arg("page", range(1, PAGE_MAX + 1)) or 1,
        per_page=PER_PAGE,
    )


# The filters a visitor can set and remove, in the order the page lists them.
FILTER_ARGS = ("available", "kind", "language", "subject", "audience", "year_from", "year_to")
CONTEXT_ARGS = ("series", "contributor")


def _args(query: MediaQuery) -> dict[str, Any]:
    """The query as URL arguments (only what is set), to build links from."""
    values = {
        "q": query.q,
        "kind": query.kind.value if query.kind else None,
        "language": query.language,
        "subject": query.subject,
        "audience": query.audience,
        "year_from": query.year_from,
        "year_to": query.year_to,
        "series": query.series,
        "contributor": query.contributor,
        "available": 1 if query.available else None,
        "sort": query.sort,
    }
    return {k: v for k, v in values.items() if v not in (None, "")}


def _active_filters(query: MediaQuery, args: dict[str, Any]) -> list[tuple[Any, str]]:
    """(label, link that removes it) for every filter set: shown as removable chips."""

    def without(*names: str) -> str:
        """This search without the filters ``names``."""
        return url_for("media.catalogue", **{k: v for k, v in args.items() if k not in names})

    chips: list[tuple[Any, str]] = []
    if query.available:
        chips.append((_l("Available now"), without("available")))
    if query.kind:
        chips.append((KIND_LABELS[query.kind], without("kind")))
    if query.language:
        chips.append((language_name(query.language), without("language")))
    if query.subject:
        chips.append((query.subject, without("subject")))
    if query.audience is not None:
        chips.append((_l("Suitable for age %(n)d", n=query.audience), without("audience")))
    if query.year_from is not None or query.year_to is not None:
        years = f"{query.year_from or ''}–{query.year_to or ''}"
        chips.append((_l("Years %(range)s", range=years), without("year_from", "year_to")))
    return chips


def _link_maker(args: dict[str, Any]) -> Any:
    """``link(kind="ebook")``: this search with one filter changed (None removes it)."""

    def link(**changes: Any) -> str:
        """This search with ``changes`` applied."""
        merged = {**args, **changes}
        return url_for("media.catalogue", **{k: v for k, v in merged.items() if v is not None})

    return link


bp.add_app_template_global(services.cover_url, "media_cover_url")


@bp.route("/media")
def catalogue() -> str:
    """The public media catalogue: search, filters and facets, pages (works without JS)."""

    def page(**extra: Any) -> str:
        """Render the page (``extra``: the cache's CSRF token slot)."""
        query = query_from_request()
        args = _args(query)
        return render_template(
            "media/catalogue.html",
            page=search(query),
            query=query,
            args=args,
            link=_link_maker(args),
            active_filters=_active_filters(query, args),
            age_ratings=rules.AGE_RATINGS,
            year_bounds=rules.YEAR,
            **labels(),
            **extra,
        )

    # Visitors without an account all see the same page per query string and language: kept
    # until the catalogue changes (media/catalogue/cache.py), so a hit costs one SELECT.
    cached_page = media_cache.anonymous_page(page)
    return cached_page if cached_page is not None else page()


@bp.route("/media/<int:item_id>")
def item(item_id: int) -> str:
    """An item: cover, description, people, series, keywords, more by the same author."""

    def page(**extra: Any) -> str:
        """Render the page (``extra``: the cache's CSRF token slot)."""
        user = current()
        found = services.get_item(item_id, user)
        people, more = services.by_same_people(found)
        return render_template(
            "media/item.html",
            item=found,
            paragraphs=[p.strip() for p in found.description.split("\n\n") if p.strip()],
            more_by=people,
            more=more,
            can_manage=services.can_manage(user),
            item_actions=list(_item_actions),
            **labels(),
            **extra,
        )

    cached_page = media_cache.anonymous_page(page)
    return cached_page if cached_page is not None else page()


def _home_media() -> tuple[str, dict[str, Any]]:
    """The home page's "borrow media" section: the newest items and a way into the catalogue."""
    newest = list(
        db.session.execute(
            sa.select(MediaItem)
            .where(MediaItem.state == PublicationState.PUBLISHED)
            .options(selectinload(MediaItem.contributors))
            .order_by(MediaItem.published_at.desc().nulls_last(), MediaItem.id.desc())
            .limit(4)
        ).scalars()
    )
    return "media/_home_media.html", {"items": newest, **labels()}


register_nav("media.catalogue", _l("Media"))
register_home_section(_home_media)
