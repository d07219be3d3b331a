"""Pages of access: the signed file link itself, its refusals as a page, and the staff's
watermark lookup.

``/library/files/<token>`` needs no login (the signed URL authorises; reading apps and media
elements send no session), yet refuses a link of someone else's when somebody else is signed
in. Its refusals (``links``) are answered by :func:`_refused`: a page that says what happened
and where to go next (the account page for a fresh link, the item once a loan has ended), or
problem+json for API clients, with the same stable codes.
"""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, request
from flask_babel import lazy_gettext as _l

from library.access import services
from library.access.forms import WatermarkLookupForm
from library.access.links import AccessRefused, LinkExpired, LoanEnded
from library.access.serving import send_grant, send_watermarked_epub
from library.blueprints import library as bp
from library.blueprints import staff as staff_bp
from media.files.services import upload_body_limit
from vhs.auth import current, require_user, staff_required
from vhs.db import utcnow
from vhs.edge import large_uploads
from vhs.errors import Invalid, NotFound, problem_response, wants_json
from vhs.forms import apply_errors
from vhs.main import register_nav


@bp.route("/library/files/<token>")
def file_link(token: str) -> Response:
    """The file a signed link names: streamed, downloaded, or (an EPUB) watermarked."""
    now = utcnow()
    grant = services.open_link(token, viewer=current(), now=now)
    if services.watermarks(grant.file, grant.action):
        return send_watermarked_epub(grant, services.watermark_for(grant, now))
    return send_grant(grant, now)


@bp.errorhandler(AccessRefused)
def _refused(exc: AccessRefused) -> Response:
    """A refused link: problem+json for programs, a page with the way on for people."""
    headers = {"Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"}
    if wants_json():
        return problem_response(
            exc.status, exc.code, exc.title, exc.detail, extra=exc.extra, headers=headers
        )
    page = render_template(
        "library/access/refused.html",
        exc=exc,
        ended=isinstance(exc, LoanEnded),
        expired=isinstance(exc, LinkExpired),
        item_id=exc.extra.get("item_id"),
    )
    return Response(page, status=exc.status, headers=headers, mimetype="text/html")


# --- staff: which loan is this file from? --------------------------------------------------------


@staff_bp.route("/watermarks", methods=["GET", "POST"])
@large_uploads(upload_body_limit)
@staff_required
def watermarks() -> Any:
    """Look a watermark up by its code, or by the EPUB file that carries it."""
    actor = require_user()
    form = WatermarkLookupForm() if request.method == "POST" else WatermarkLookupForm(formdata=None)
    found, status = None, 200
    code = request.args.get("code", "") if request.method == "GET" else ""
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            try:
                code = _code_of(form)
            except Invalid as exc:
                apply_errors(form, exc)
    if code:
        try:
            found = services.find_watermark(actor, code)
            status = 200
        except NotFound as exc:
            form.code.errors = [*form.code.errors, str(exc.detail)]
            status = 404
    page = render_template("library/access/watermarks.html", form=form, found=found)
    return page, status, {"Cache-Control": "private, no-store"}


def _code_of(form: WatermarkLookupForm) -> str:
    """The code typed, else the one the uploaded EPUB carries."""
    upload = form.file.data
    if upload is not None and getattr(upload, "filename", ""):
        return services.code_in_epub(upload.stream)
    if not (form.code.data or "").strip():
        raise Invalid(errors={"code": [_l("Enter a code or choose an EPUB file.")]})
    if services.normalise_code(form.code.data) is None:
        raise services.invalid_code()
    return form.code.data


register_nav("library_staff.watermarks", _l("Watermarks"), who="staff")
