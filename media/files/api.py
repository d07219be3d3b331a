"""Staff API of media files: upload (multipart), list, metadata, removal, cover."""

from __future__ import annotations

from typing import Any

from flask import url_for

from media.blueprints import staff_api as bp
from media.files import services
from media.files.schemas import (
    AcceptedSchema,
    AcceptSchema,
    CoverOutSchema,
    CoverUploadSchema,
    FileOutSchema,
    ProposalSchema,
    UploadOutSchema,
    UploadSchema,
)
from media.files.services import Upload
from media.ingest.covers import WIDTHS
from media.ingest.proposal import Proposal
from media.models import MediaFile
from vhs.auth import require_user, staff_required
from vhs.edge import large_uploads
from vhs.extensions import problems

ITEM_FILES = "/staff/media/<int:item_id>/files"
ONE_FILE = "/staff/media/<int:item_id>/files/<int:file_id>"


@bp.route(ITEM_FILES, methods=["GET"])
@staff_required
@bp.response(200, FileOutSchema(many=True))
@problems(bp, 401, 403, 404)
def list_files(item_id: int) -> list[MediaFile]:
    """The files of an item, in their order (staff)."""
    return list(services.get_item(require_user(), item_id).files)


# The body is declared optional so that a request without one reaches the role check (401/403
# before 422); the `file` part itself is required.
@bp.route(ITEM_FILES, methods=["POST"])
@large_uploads(services.upload_body_limit)
@staff_required
@bp.arguments(UploadSchema, location="files", required=False)
@bp.response(201, UploadOutSchema)
@problems(bp, 401, 403, 404, 409, 413, 422)
def upload_file(data: dict[str, Any], item_id: int) -> Upload:
    """Upload a file (multipart part `file`); its format is detected from the content.

    Answers with the stored file and the metadata it holds (`proposal`), which
    `POST .../files/{file_id}/metadata` takes over. The same file twice on one item is 409.
    """
    actor = require_user()
    item = services.get_item(actor, item_id)
    upload = data["file"]
    return services.add_file(actor, item, upload.stream, upload.filename or "")


@bp.route(ONE_FILE, methods=["DELETE"])
@staff_required
@bp.response(204)
@problems(bp, 401, 403, 404)
def delete_file(item_id: int, file_id: int) -> None:
    """Remove a file from its item (the bytes go unless another item has the same file)."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    services.remove_file(actor, item, services.get_file(actor, file_id, item))


@bp.route(f"{ONE_FILE}/metadata", methods=["GET"])
@staff_required
@bp.response(200, ProposalSchema)
@problems(bp, 401, 403, 404)
def file_metadata(item_id: int, file_id: int) -> Proposal:
    """What the stored file says about its item."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    return services.propose(actor, services.get_file(actor, file_id, item))


@bp.route(f"{ONE_FILE}/metadata", methods=["POST"])
@staff_required
@bp.arguments(AcceptSchema)
@bp.response(200, AcceptedSchema)
@problems(bp, 401, 403, 404, 409, 422)
def accept_metadata(data: dict[str, Any], item_id: int, file_id: int) -> dict[str, Any]:
    """Take the chosen fields over into the item (fields the file has no value for are skipped)."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    proposal = services.propose(actor, services.get_file(actor, file_id, item))
    return {"applied": services.apply_metadata(actor, item, proposal, data["fields"])}


@bp.route("/staff/media/<int:item_id>/cover", methods=["PUT"])
@large_uploads(services.cover_body_limit)
@staff_required
@bp.arguments(CoverUploadSchema, location="files", required=False)
@bp.response(200, CoverOutSchema)
@problems(bp, 401, 403, 404, 413, 422)
def put_cover(data: dict[str, Any], item_id: int) -> dict[str, Any]:
    """Make the item's cover from an image (multipart part `cover`): JPEG, PNG, WebP, GIF."""
    actor = require_user()
    item = services.get_item(actor, item_id)
    sha256 = services.set_cover(actor, item, data["cover"].stream)
    urls = {str(w): url_for("media.cover_image", sha256=sha256, size=w) for w in WIDTHS}
    return {"cover_sha256": sha256, "urls": urls}
