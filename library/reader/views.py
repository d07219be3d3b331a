"""The reader page of a loan's file: ``/library/loans/<loan>/read/<file>``.

EPUBs open in epub.js, audio and video in the browser's own player, PDFs in the browser's own
viewer (a redirect to the inline stream link). Refusals are access's (``library.access.views``
renders them for this blueprint): someone else's loan or none 404, an ended loan 410 with the way
to borrow it again, a file outside the loan 404, a licence that gives no such link 403.

The page loosens the app's Content-Security-Policy for itself only (``g.csp_extra``):

- EPUB: epub.js renders each chapter into a sandboxed ``srcdoc`` iframe (no scripts run in it)
  that inherits this page's policy; the book's stylesheets, images and fonts become ``blob:``
  URLs, and books carry inline styles, so ``style-src`` gains ``'unsafe-inline' blob:``,
  ``img-src`` and ``font-src`` ``blob:`` (fonts also ``data:``). Scripts stay ``'self'`` only.
- audio and video: when files live in S3 the stream link redirects to a presigned URL, so
  ``media-src`` gains that storage's origin (nothing is added for local storage).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import g, redirect, render_template
from flask_babel import gettext as _
from flask_babel import pgettext

from library.access.labels import file_facts, link_label
from library.blueprints import library as bp
from library.reader import services
from library.reader.services import Mode, Part, Reading
from media.files.serving import download_name
from media.files.storage import get_storage
from vhs.auth import require_user, user_required
from vhs.i18n import fmt_datetime

EPUB_CSP = {
    "style-src": "'unsafe-inline' blob:",
    "img-src": "blob:",
    "font-src": "'self' blob: data:",
}


@bp.route("/library/loans/<int:loan_id>/read/<int:file_id>")
@user_required
def read(loan_id: int, file_id: int) -> Any:
    """Read or play one file of one's open loan in the browser."""
    reading = services.open_reader(require_user(), loan_id, file_id)
    headers = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
    if reading.mode is Mode.PDF:
        return redirect(reading.source.url, code=303), headers
    if reading.mode is Mode.EPUB:
        g.csp_extra = EPUB_CSP
        template = "library/reader/epub.html"
    else:
        origin = _storage_origin(reading)
        if origin:
            g.csp_extra = {"media-src": f"'self' {origin}"}
        template = "library/reader/player.html"
    page = render_template(
        template,
        reading=reading,
        item=reading.loan.item,
        title=_title(reading),
        minutes=_clock,
        part_label=part_label,
        link_label=link_label,
        file_facts=file_facts,
        due=fmt_datetime(reading.loan.due_at, "short"),
    )
    return page, 200, headers


def _storage_origin(reading: Reading) -> str:
    """The origin a stream link redirects to (S3), or "" when the app sends files itself."""
    url = get_storage().url(
        reading.file.storage_key,
        download_name=download_name(reading.file),
        content_type=reading.file.media_type,
        inline=True,
    )
    if not url:
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def part_label(part: Part) -> str:
    """A part's name: its file's label ("Kapitel 3"), else "Teil 3"."""
    return part.file.label or pgettext("audiobook part", "Part %(num)d", num=part.number)


def _title(reading: Reading) -> str:
    """The page's heading: the item, and the part when it is one of several."""
    part = next((p for p in reading.parts if p.file.id == reading.file.id), None)
    if part is not None:
        return _("%(title)s – %(part)s", title=reading.loan.item.title, part=part_label(part))
    return reading.loan.item.title


def _clock(seconds: float | None) -> str:
    """``1:02:03`` or ``2:03`` for a time in a file."""
    whole = int(seconds or 0)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
