"""Demo covers drawn with Pillow: a colour per genre, the title, the people, the series.

Drawn at the size the item page shows (480 pixels wide), in DejaVu (the fonts the platform
ships for its PDFs), as JPEG: the cover service (``media.files.services.set_cover``) makes the
thumbnails from it as from any upload.
"""

from __future__ import annotations

import io
from functools import lru_cache
from importlib import resources

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 480, 720
MARGIN = 36


@lru_cache(maxsize=16)
def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (bold) in ``size`` points."""
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    with resources.as_file(resources.files("vhs") / "fonts" / name) as path:
        return ImageFont.truetype(str(path), size)


def _lines(text: str, font: ImageFont.FreeTypeFont, width: int, most: int) -> list[str]:
    """``text`` wrapped at word boundaries to ``width`` pixels, at most ``most`` lines."""
    lines: list[str] = []
    for word in text.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > most:
        lines = [*lines[: most - 1], " ".join(lines[most - 1 :])]
        while font.getlength(lines[-1] + "…") > width and " " in lines[-1]:
            lines[-1] = lines[-1].rsplit(" ", 1)[0]
        lines[-1] += "…"
    return lines


def _ink(colour: tuple[int, int, int]) -> tuple[int, int, int]:
    """Black or white, whichever reads better on ``colour``."""
    r, g, b = colour
    return (20, 20, 20) if 0.299 * r + 0.587 * g + 0.114 * b > 150 else (250, 250, 250)


def draw_cover(
    title: str,
    people: str,
    *,
    colour: tuple[int, int, int],
    accent: tuple[int, int, int],
    top_line: str = "",
    bottom_line: str = "",
    motif: int = 0,
) -> bytes:
    """A JPEG cover: ``top_line`` (series, kind), title, people, ``bottom_line`` (publisher).

    ``motif`` picks one of a few shapes drawn behind the text, so covers of one genre differ.
    """
    image = Image.new("RGB", (WIDTH, HEIGHT), colour)
    draw = ImageDraw.Draw(image)
    ink = _ink(colour)
    shape = motif % 4
    if shape == 0:
        draw.ellipse((WIDTH - 260, HEIGHT - 330, WIDTH + 120, HEIGHT + 50), fill=accent)
    elif shape == 1:
        for n in range(6):
            y = HEIGHT - 60 - n * 36
            draw.rectangle((0, y, WIDTH, y + 14), fill=accent)
    elif shape == 2:
        draw.polygon([(0, HEIGHT), (WIDTH, HEIGHT - 260), (WIDTH, HEIGHT)], fill=accent)
    else:
        for n in range(5):
            r = 40 + n * 42
            draw.ellipse(
                (WIDTH // 2 - r, HEIGHT - 150 - r, WIDTH // 2 + r, HEIGHT - 150 + r),
                outline=accent,
                width=9,
            )
    draw.rectangle((0, 0, WIDTH, 10), fill=accent)
    y = MARGIN
    if top_line:
        small = _font(20)
        for line in _lines(top_line.upper(), small, WIDTH - 2 * MARGIN, 2):
            draw.text((MARGIN, y), line, font=small, fill=ink)
            y += 28
        y += 18
    big = _font(42 if len(title) < 28 else 34, bold=True)
    for line in _lines(title, big, WIDTH - 2 * MARGIN, 6):
        draw.text((MARGIN, y), line, font=big, fill=ink)
        y += big.size + 10
    y += 20
    draw.line((MARGIN, y, MARGIN + 90, y), fill=ink, width=4)
    y += 24
    medium = _font(26)
    for line in _lines(people, medium, WIDTH - 2 * MARGIN, 3):
        draw.text((MARGIN, y), line, font=medium, fill=ink)
        y += 34
    if bottom_line:
        small = _font(20, bold=True)
        box = draw.textbbox((0, 0), bottom_line, font=small)
        x, bottom = MARGIN, HEIGHT - MARGIN - (box[3] - box[1])
        draw.rectangle((x - 10, bottom - 10, x + box[2] + 10, bottom + box[3] + 6), fill=colour)
        draw.text((x, bottom), bottom_line, font=small, fill=ink)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()
