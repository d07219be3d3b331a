"""The bytes a working link gives: a download, a stream, or a watermarked EPUB.

Downloads and streams reuse the media files' serving (``media.files.serving.send_media_file``):
from local storage Werkzeug's conditional ``send_file`` answers ``Range`` with 206 and a range
outside the file with 416; from S3 a redirect to a presigned URL with the same type and
disposition (S3 answers ranges itself). Here the caching changes: a download is
``private, no-store``; a stream may be kept by the player for the link's lifetime
(``private, max-age``) so seeking back does not fetch it again. An EPUB download always passes
through the app, rewritten with its watermark as it goes (``watermark``), also from S3.
"""

from __future__ import annotations

import zipfile
from contextlib import ExitStack
from datetime import datetime

from flask import Response, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from library import rules
from library.access import watermark
from library.access.links import Action
from library.access.services import Grant
from library.models import Watermark
from media.files.serving import download_name, send_media_file
from media.files.storage import content_disposition, get_storage
from vhs.errors import Conflict, NotFound
from vhs.i18n import fmt_datetime


def send_grant(grant: Grant, now: datetime) -> Response:
    """The file of a working link, as its action asks."""
    inline = grant.action is Action.STREAM
    response = send_media_file(grant.file, inline=inline)
    if inline and response.status_code in (200, 206, 304):
        seconds = max(int((grant.expires_at - now).total_seconds()), 0)
        response.headers["Cache-Control"] = f"private, max-age={seconds}"
    else:
        response.headers["Cache-Control"] = "private, no-store"
    _private(response)
    return response


def _private(response: Response) -> None:
    """The token in the URL must not travel on as a referrer, nor the file be sniffed."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"


def mark_for(grant: Grant, record: Watermark) -> watermark.Mark:
    """The watermark of one download: the code, the rights statement, the colophon page."""
    library = rules.library_name()
    sentence = _(
        "Borrowed from %(library)s — loan %(code)s — for personal use only.",
        library=library,
        code=record.code,
    )
    colophon = render_template(
        "library/access/colophon.xhtml",
        library=library,
        code=record.code,
        sentence=sentence,
        item=grant.loan.item,
        due=fmt_datetime(grant.loan.due_at, "short"),
    )
    return watermark.Mark(code=record.code, rights=sentence, colophon=colophon.encode())


def send_watermarked_epub(grant: Grant, record: Watermark) -> Response:
    """The EPUB rewritten with its watermark, streamed (chunked; no length known ahead)."""
    storage = get_storage()
    mark = mark_for(grant, record)
    stack = ExitStack()
    try:
        path = stack.enter_context(storage.local_copy(grant.file.storage_key))
        source = stack.enter_context(zipfile.ZipFile(path))
        prepared = watermark.prepare(source, mark)
    except FileNotFoundError:
        stack.close()
        raise NotFound() from None
    except (watermark.EpubUnreadable, zipfile.BadZipFile, OSError) as exc:
        stack.close()
        raise Conflict(
            _l("This e-book cannot be prepared for download. Please tell the library."),
            code="file_unreadable",
        ) from exc
    response = Response(watermark.watermarked(source, prepared), mimetype=grant.file.media_type)
    response.call_on_close(stack.close)
    response.headers["Content-Disposition"] = content_disposition(
        "attachment", download_name(grant.file)
    )
    response.headers["Cache-Control"] = "private, no-store"
    _private(response)
    return response
