"""The avatar rules as plain functions, without HTTP: bytes and a declared type in, WebP out."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from domain.avatars import (
    AVATAR_MAX_BYTES,
    AvatarTooLarge,
    UnsupportedImage,
    avatar_image,
    check_upload,
)


def _image(fmt: str, size: tuple[int, int] = (800, 600), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(out, format=fmt, **save)
    return out.getvalue()


def test_an_upload_becomes_a_small_webp_without_its_metadata() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    webp = avatar_image(_image("JPEG", exif=exif.tobytes()), "image/jpeg")
    with Image.open(io.BytesIO(webp)) as image:
        assert image.format == "WEBP"
        assert max(image.size) == 512
        assert not image.getexif()


def test_the_real_type_is_read_from_the_bytes() -> None:
    webp = avatar_image(_image("PNG"), "image/jpeg")  # mislabelled, but an accepted kind
    assert webp[8:12] == b"WEBP"
    with pytest.raises(UnsupportedImage):
        avatar_image(_image("GIF"), "image/png")
    with pytest.raises(UnsupportedImage):
        avatar_image(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png")


def test_an_upload_is_refused_by_what_it_declares_before_it_is_read() -> None:
    with pytest.raises(UnsupportedImage):
        check_upload("text/plain", 10)
    with pytest.raises(AvatarTooLarge):
        check_upload("image/png", AVATAR_MAX_BYTES + 1)
    check_upload("image/png", None)  # a chunked upload is measured as it is read


def test_more_than_the_limit_is_too_large_whatever_it_declared() -> None:
    with pytest.raises(AvatarTooLarge):
        avatar_image(_image("PNG") + bytes(AVATAR_MAX_BYTES), "image/png")
