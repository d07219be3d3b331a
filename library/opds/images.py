"""The two pictures OPDS needs and the catalogue does not have: the library's logo for the
authentication document, and a cover for items without one (an OPDS 2.0 publication must have
at least one JPEG, PNG or GIF image). Drawn once with Pillow, kept in memory."""

from __future__ import annotations

import io
from functools import lru_cache

from PIL import Image, ImageDraw

# The platform's colours (vhs/static/css/vhs.css): dark blue and a light paper tone.
INK = (16, 58, 99)
PAPER = (244, 241, 232)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


@lru_cache(maxsize=1)
def logo(size: int = 90) -> bytes:
    """A square logo: an open book on the platform's blue."""
    image = Image.new("RGB", (size, size), INK)
    draw = ImageDraw.Draw(image)
    m = size // 6
    draw.polygon(
        [(m, m * 2), (size // 2, m * 3), (size // 2, size - m), (m, size - m * 2)], fill=PAPER
    )
    draw.polygon(
        [(size - m, m * 2), (size // 2, m * 3), (size // 2, size - m), (size - m, size - m * 2)],
        fill=PAPER,
    )
    return _png(image)


@lru_cache(maxsize=1)
def placeholder_cover(width: int = 160, height: int = 240) -> bytes:
    """A plain cover: paper with a blue band, for items without a cover of their own."""
    image = Image.new("RGB", (width, height), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, height // 3, width, height // 3 + height // 6], fill=INK)
    draw.rectangle([0, 0, width - 1, height - 1], outline=INK, width=3)
    return _png(image)
