"""Staff pages for an item's files (upload, take over metadata, remove, cover), the staff
check of a stored file, and the public cover thumbnails."""

from __future__ import annotations

from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from media.blueprints import media as public_bp
from media.blueprints import staff as bp
from media.files import services
from media.files.forms import CoverForm, MetadataForm, UploadForm
from media.files.labels import (
    FIELD_LABELS,
    FORMAT_LABELS,
    current_value,
    duration_label,
    proposed_value,
    size_label,
)
from media.files.serving import send_cover, send_media_file
from media.models import MediaFile, MediaItem
from vhs.auth import require_user, staff_required
from vhs.edge import large_uploads
from vhs.errors import VhsError
from vhs.forms import EmptyForm, apply_errors


def _labels() -> dict[str, Any]:
    return {
        "format_labels": FORMAT_LABELS,
        "field_labels": FIELD_LABELS,
        "size_label": size_label,
        "duration_label": duration_label,
        "max_file_mb": services.max_file_bytes() // (1024 * 1024),
    }


def _files_page(
    item: MediaItem,
    upload: UploadForm | None = None,
    cover: CoverForm | None = None,
    status: int = 200,
) -> Any:
    page = render_template(
        "media/files/files.html",
        item=item,
        upload=upload or UploadForm(formdata=None),
        cover_form=cover or CoverForm(formdata=None),
        **_labels(),
    )
    return page, status


@bp.route("/<int:item_id>/files")
@staff_required
def item_files(item_id: int) -> Any:
    """An item's files with upload and cover forms."""
    return _files_page(services.get_item(require_user(), item_id))


@bp.route("/<int:item_id>/files", methods=["POST"])
@large_uploads(services.upload_body_limit)
@staff_required
def file_upload(item_id: int) -> Any:
    """Store an uploaded file, then offer the metadata it holds."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    form = UploadForm()
    if not form.validate_on_submit():
        return _files_page(item, upload=form, status=422)
    storage = form.file.data
    try:
        added = services.add_file(
            actor, item, storage.stream, storage.filename or "", label=form.label.data or ""
        )
    except VhsError as exc:
        apply_errors(form, exc)
        return _files_page(item, upload=form, status=exc.status)
    flash(
        _("Stored as %(format)s.", format=FORMAT_LABELS[added.detected.format]),
        "success",
    )
    if added.misnamed:
        flash(
            _(
                "The file name ends in “%(ext)s”, but the content is %(format)s: it was stored "
                "as what it is.",
                ext=added.misnamed,
                format=FORMAT_LABELS[added.detected.format],
            ),
            "warning",
        )
    return redirect(url_for(".file_metadata", item_id=item.id, file_id=added.file.id))


def _metadata_page(
    item: MediaItem, media_file: MediaFile, form: MetadataForm | None, status: int = 200
) -> Any:
    proposal = services.propose(require_user(), media_file)
    offered = proposal.offered()
    if form is None:
        form = MetadataForm(formdata=None)
        # Preselect what the item does not have yet; staff decide about the rest.
        form.fields.data = [name for name in offered if not current_value(item, name)]
    form.fields.choices = [(name, str(FIELD_LABELS[name])) for name in offered]
    rows = [
        {
            "name": name,
            "label": FIELD_LABELS[name],
            "current": current_value(item, name),
            "proposed": proposed_value(proposal, name),
            "checked": name in (form.fields.data or []),
        }
        for name in offered
    ]
    page = render_template(
        "media/files/metadata.html",
        item=item,
        file=media_file,
        form=form,
        rows=rows,
        chapters=proposal.chapters,
        **_labels(),
    )
    return page, status


@bp.route("/<int:item_id>/files/<int:file_id>/metadata")
@staff_required
def file_metadata(item_id: int, file_id: int) -> Any:
    """What the file says, beside what the item has, with a checkbox per field."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    return _metadata_page(item, services.get_file(actor, file_id, item), None)


@bp.route("/<int:item_id>/files/<int:file_id>/metadata", methods=["POST"])
@staff_required
def file_apply_metadata(item_id: int, file_id: int) -> Any:
    """Take over the chosen fields into the item."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    media_file = services.get_file(actor, file_id, item)
    proposal = services.propose(actor, media_file)
    form = MetadataForm()
    form.fields.choices = [(name, name) for name in proposal.offered()]
    if not form.validate_on_submit():
        return _metadata_page(item, media_file, form, status=422)
    try:
        applied = services.apply_metadata(actor, item, proposal, form.fields.data or [])
    except VhsError as exc:
        form.form_errors.append(str(exc.detail))
        return _metadata_page(item, media_file, form, status=exc.status)
    if applied:
        names = ", ".join(str(FIELD_LABELS[name]) for name in applied)
        flash(_("Taken over from the file: %(fields)s.", fields=names), "success")
    else:
        flash(_("Nothing was taken over; the item is unchanged."), "info")
    return redirect(url_for(".item_files", item_id=item.id))


@bp.route("/<int:item_id>/files/<int:file_id>/remove")
@staff_required
def file_confirm_remove(item_id: int, file_id: int) -> Any:
    """Ask before a file is removed."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    media_file = services.get_file(actor, file_id, item)
    return render_template(
        "media/files/remove.html", item=item, file=media_file, form=EmptyForm(), **_labels()
    )


@bp.route("/<int:item_id>/files/<int:file_id>/remove", methods=["POST"])
@staff_required
def file_remove(item_id: int, file_id: int) -> Any:
    """Remove the file from the item (its bytes go unless another item has the same file)."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    media_file = services.get_file(actor, file_id, item)
    form = EmptyForm()
    if not form.validate_on_submit():
        page = render_template(
            "media/files/remove.html", item=item, file=media_file, form=form, **_labels()
        )
        return page, 422
    services.remove_file(actor, item, media_file)
    flash(_("The file was removed."), "success")
    return redirect(url_for(".item_files", item_id=item.id))


@bp.route("/<int:item_id>/files/cover", methods=["POST"])
@large_uploads(services.cover_body_limit)
@staff_required
def cover_upload(item_id: int) -> Any:
    """Make the item's cover from an uploaded image."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    form = CoverForm()
    if not form.validate_on_submit():
        return _files_page(item, cover=form, status=422)
    try:
        services.set_cover(actor, item, form.cover.data.stream)
    except VhsError as exc:
        apply_errors(form, exc)
        return _files_page(item, cover=form, status=exc.status)
    flash(_("The cover was saved."), "success")
    return redirect(url_for(".item_files", item_id=item.id))


@bp.route("/files/<int:file_id>")
@staff_required
def file_download(file_id: int) -> Response:
    """A stored file as patrons will get it (ranges, ETag), for staff to check an upload."""
    media_file = services.get_file(require_user(), file_id)
    return send_media_file(media_file, inline=request.args.get("inline") == "1")


@public_bp.route("/media/covers/<sha256>-<int:size>.jpg")
def cover_image(sha256: str, size: int) -> Response:
    """A cover thumbnail (public, cached for a year)."""
    return send_cover(sha256, size)
