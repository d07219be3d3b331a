"""Cover thumbnails: two JPEG widths, upright, on white; non-images and pixel bombs refused."""

from __future__ import annotations

import hashlib
import io

import pytest
from PIL import Image

from media.ingest import covers
from media.ingest.proposal import FileRefused
from tests.media.ingest import samples


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_two_jpeg_widths_keep_the_aspect_ratio():
    data = samples.png(600, 900)
    cover = covers.make_cover(data)
    assert cover.sha256 == hashlib.sha256(data).hexdigest()
    sizes = {w: opened(jpeg).size for w, jpeg in cover.thumbnails.items()}
    assert sizes == {160: (160, 240), 480: (480, 720)}
    assert all(opened(j).format == "JPEG" for j in cover.thumbnails.values())


def test_small_images_are_not_enlarged():
    cover = covers.make_cover(samples.jpeg(200, 300))
    assert opened(cover.thumbnails[480]).size == (200, 300)


def test_transparency_is_laid_on_white():
    cover = covers.make_cover(samples.png(100, 150, color=(0, 0, 0, 0), mode="RGBA"))
    assert opened(cover.thumbnails[160]).getpixel((50, 75)) == (255, 255, 255)


def test_exif_orientation_is_applied():
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to show
    Image.new("RGB", (300, 200), "red").save(out, "JPEG", exif=exif)
    cover = covers.make_cover(out.getvalue())
    assert opened(cover.thumbnails[480]).size == (200, 300)
    assert "exif" not in opened(cover.thumbnails[480]).info


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", samples.pdf(), b"GIF89a" + bytes(20), samples.png(100, 900)],
)
def test_what_is_not_a_usable_image_is_refused(data):
    with pytest.raises(FileRefused) as info:
        covers.make_cover(data)
    assert info.value.code == "cover_not_image"
    assert "cover" in info.value.errors


def test_formats_pillow_could_decode_but_we_do_not_take_are_refused():
    out = io.BytesIO()
    Image.new("RGB", (60, 90)).save(out, "BMP")
    with pytest.raises(FileRefused):
        covers.make_cover(out.getvalue())


def test_a_pixel_bomb_is_refused_before_decoding():
    out = io.BytesIO()
    Image.new("1", (10_000, 10_000)).save(out, "PNG")  # 100 megapixels in ~12 KB
    assert len(out.getvalue()) < 100_000
    with pytest.raises(FileRefused) as info:
        covers.make_cover(out.getvalue())
    assert info.value.code == "cover_too_many_pixels"


def test_pillows_own_limit_stays_on_and_refuses(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 300 * 400)
    with pytest.raises(FileRefused) as info:
        covers.make_cover(samples.png(400, 500))
    assert info.value.code == "cover_too_many_pixels"
