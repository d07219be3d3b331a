"""Cover thumbnails (Pillow): two JPEG sizes from an uploaded or embedded image.

Only JPEG, PNG, WebP and GIF are decoded (Pillow is told so, so no other decoder ever sees
the bytes). The pixel count is checked from the header before decoding, and Pillow's own
decompression-bomb guard (``Image.MAX_IMAGE_PIXELS``) stays on and refuses, never just
warns. Thumbnails are upright (EXIF orientation applied), RGB on white, without metadata.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from media.ingest.proposal import refused

WIDTHS = (160, 480)  # catalogue lists and item pages
COVER_MAX_BYTES = 20 * 1024 * 1024
COVER_MAX_PIXELS = 50_000_000  # a 7000 x 7000 scan is the largest cover anyone needs
MAX_ASPECT = 4  # height : width (and width : height) a cover may have
FORMATS = ("JPEG", "PNG", "WEBP", "GIF")
QUALITY = 85


@dataclass(frozen=True)
class Cover:
    """A cover's identity (SHA-256 of the original image) and its thumbnails by width."""

    sha256: str
    thumbnails: dict[int, bytes]


def make_cover(data: bytes) -> Cover:
    """Thumbnails of ``data``; ``FileRefused`` when it is not an image we decode or too big."""
    if not data or len(data) > COVER_MAX_BYTES:
        raise refused("cover_not_image", "cover")
    if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > COVER_MAX_PIXELS:
        limit = COVER_MAX_PIXELS
    else:
        limit = Image.MAX_IMAGE_PIXELS
    try:
        with warnings.catch_warnings():
            # Pillow warns between MAX_IMAGE_PIXELS and twice that; here that is a refusal.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=FORMATS) as image:
                width, height = image.size
                if width * height > limit:
                    raise refused("cover_too_many_pixels", "cover")
                if width < 1 or height < 1 or max(width / height, height / width) > MAX_ASPECT:
                    raise refused("cover_not_image", "cover")
                image.seek(0)  # the first frame of an animation
                upright = ImageOps.exif_transpose(image)
                flat = _on_white(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refused("cover_too_many_pixels", "cover") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        # SyntaxError and EOFError: how some of Pillow's decoders report broken files.
        raise refused("cover_not_image", "cover") from None
    thumbnails = {w: _jpeg(flat, w) for w in WIDTHS}
    return Cover(hashlib.sha256(data).hexdigest(), thumbnails)


def _on_white(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (JPEG has none)."""
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, "white")
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image, width: int) -> bytes:
    """A progressive JPEG at most ``width`` pixels wide (never enlarged), no metadata."""
    scaled = image.copy()
    if scaled.width > width:
        height = max(1, round(scaled.height * width / scaled.width))
        scaled = scaled.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    scaled.save(out, "JPEG", quality=QUALITY, optimize=True, progressive=True)
    return out.getvalue()
