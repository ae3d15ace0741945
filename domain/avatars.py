"""Profile images: an upload checked, re-encoded without its metadata, and stored."""

from __future__ import annotations

import asyncio
import io
import uuid

import asyncpg
from PIL import Image, UnidentifiedImageError

from adapters.storage import Storage
from domain.identity.tokens import Claims
from domain.profiles import avatar_key, ensure_profile, set_avatar_key
from foundation.errors import NotFound, TooLarge, UnsupportedFormat

AVATAR_MAX_BYTES = 2 * 1024 * 1024
AVATAR_SIZE = 512
AVATAR_CONTENT_TYPE = "image/webp"
_AVATAR_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


class AvatarTooLarge(TooLarge):
    slug = "avatar-too-large"
    title = "Avatar too large"


class UnsupportedImage(UnsupportedFormat):
    slug = "unsupported-image"
    title = "Unsupported image"


def check_upload(content_type: str, length: int | None) -> None:
    """Refuse an upload by what it declares, before any of it is read."""
    if content_type not in _AVATAR_TYPES.values():
        raise UnsupportedImage(f"Send image/png, image/jpeg or image/webp, not {content_type!r}.")
    if (length or 0) > AVATAR_MAX_BYTES:
        raise AvatarTooLarge(f"Avatars may be at most {AVATAR_MAX_BYTES} bytes.")


def avatar_image(data: bytes, content_type: str) -> bytes:
    """The upload as a fresh WebP. The real type is read from the bytes, not the declared
    one, and the image is re-drawn, so no metadata (EXIF, GPS) survives. CPU-bound."""
    check_upload(content_type, len(data))
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in _AVATAR_TYPES:
                raise UnsupportedImage(f"{image.format} images are not accepted.")
            if image.width * image.height > 40_000_000:
                raise UnsupportedImage("The image has too many pixels.")
            image.thumbnail((AVATAR_SIZE, AVATAR_SIZE))
            clean = Image.new("RGBA", image.size)
            clean.paste(image.convert("RGBA"))
            out = io.BytesIO()
            clean.save(out, format="WEBP", quality=85)
            return out.getvalue()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise UnsupportedImage("The body is not a PNG, JPEG or WebP image.") from None


async def save_avatar(
    pool: asyncpg.Pool, storage: Storage, user: Claims, data: bytes, content_type: str
) -> None:
    """Replace the user's profile image with the upload, re-encoded off the event loop."""
    webp = await asyncio.to_thread(avatar_image, data, content_type)
    await ensure_profile(pool, user.user_id, user.email, user.app_roles)
    key = f"avatars/{user.user_id}.webp"
    await storage.put(key, webp, AVATAR_CONTENT_TYPE)
    await set_avatar_key(pool, user.user_id, key)


async def load_avatar(pool: asyncpg.Pool, storage: Storage, user_id: uuid.UUID) -> bytes:
    key = await avatar_key(pool, user_id)
    data = await storage.get(key) if key else None
    if data is None:
        raise NotFound("No profile image.")
    return data
