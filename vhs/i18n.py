"""Language and time zone: German by default, English complete; times in ``VHS_TIMEZONE``."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from babel.numbers import format_currency
from babel.support import NullTranslations
from flask import current_app, g, has_request_context, request, session
from flask.globals import _cv_app
from flask_babel import format_date, format_datetime, get_locale, get_translations, refresh
from flask_login import current_user

LOCALES = ("de", "en")


def local_zone() -> ZoneInfo:
    """The zone times are shown and exported in: the app's ``VHS_TIMEZONE``.

    Needs an app context: a time shown or exported outside one would be in a guessed zone.
    """
    return current_app.config["VHS"].timezone


def local_datetime(day: date, at: time) -> datetime:
    """A wall-clock time in the configured zone as an aware datetime (stored as UTC)."""
    return datetime.combine(day, at, tzinfo=local_zone())


def exists_locally(day: date, at: time) -> bool:
    """False for a wall-clock time the clocks skip (spring forward, e.g. 02:30 in March)."""
    zone = local_zone()
    local = datetime.combine(day, at, tzinfo=zone)
    return local.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None)


def select_locale() -> str:
    """Profile language, else the header switch, else Accept-Language, else German."""
    if not has_request_context():
        # CLI commands and jobs: nobody to ask (mails pass their recipient's language).
        return current_app.config.get("BABEL_DEFAULT_LOCALE") or "de"
    user = current_user if current_user and current_user.is_authenticated else None
    if user is not None and user.locale in LOCALES:
        lang = user.locale
    elif session.get("locale") in LOCALES:
        lang = session["locale"]
    else:
        lang = request.accept_languages.best_match(LOCALES) or "de"
    g.locale = lang
    return lang


def page_locale() -> str:
    """The language being rendered now: the request's, or the one ``force_locale`` sets.

    Read this rather than ``g.locale``: Flask-Babel picks the locale lazily, so ``g.locale``
    is unset until the first translated string, and ``force_locale`` (mails) never sets it.
    """
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LOCALES else "de"


def refresh_locale() -> None:
    """Forget the cached locale after a switch within one request."""
    refresh()


def money(cents: int | None, locale: str | None = None) -> str:
    """Format integer cents as euro: ``1.234,50 €`` in German, ``€1,234.50`` in English."""
    if cents is None:
        return ""
    lang = locale or page_locale()
    return format_currency(cents / 100, "EUR", locale="de_DE" if lang == "de" else "en_IE")


def local(dt: datetime) -> datetime:
    """A stored (UTC) datetime in the local zone; naive ones are taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(local_zone())


def fmt_datetime(dt: datetime | None, fmt: str = "medium") -> str:
    """Date and time in the page's language and the local zone."""
    # rebase=False: the zone is ours (local_zone), not Flask-Babel's cached per-request one.
    return format_datetime(local(dt), fmt, rebase=False) if dt else ""


def fmt_date(d: date | datetime | None, fmt: str = "medium") -> str:
    """A date in the page's language (for a datetime: its day in the local zone)."""
    if d is None:
        return ""
    if isinstance(d, datetime):
        d = local(d).date()
    return format_date(d, fmt, rebase=False)


def _translations() -> NullTranslations:
    """The translations being rendered now, looked up once per locale and request.

    Flask-Babel's own template callables look the catalogue up again for every string (the
    domain, the context namespace in ``g``, the locale and a dictionary, each through Flask's
    context proxies): 60 strings on a page cost about a millisecond. This keeps the catalogue
    beside the locale it belongs to in Flask-Babel's namespace; ``force_locale`` (mails) and
    ``refresh`` (a language switch) set a new locale object, so the pair is looked up afresh.
    """
    ctx = _cv_app.get(None)
    space = ctx.g.__dict__.get("_flask_babel") if ctx is not None else None
    locale = getattr(space, "babel_locale", None)
    if locale is None:
        return get_translations()
    kept = space.__dict__.get("vhs_translations")
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    space.vhs_translations = (locale, translations)
    return translations


def install_gettext(app) -> None:  # type: ignore[no-untyped-def]
    """Jinja's gettext callables through :func:`_translations` (after ``babel.init_app``)."""
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
    )


def register_filters(app) -> None:  # type: ignore[no-untyped-def]
    """Jinja filters for money and dates."""
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["datetime"] = fmt_datetime
    app.jinja_env.filters["date"] = fmt_date
    app.jinja_env.filters["localtime"] = local
    app.jinja_env.globals["page_locale"] = page_locale
