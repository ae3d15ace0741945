"""PDF417 barcodes sized for print: boarding passes carry their BCBP string in one."""

from __future__ import annotations

import pdf417gen
from PIL import Image

# A module of 0.33 mm and rows three modules high are within what gate readers and
# phone cameras read off paper; error correction level 5 survives a crease or a smudge
# at the cost of a few more rows.
MODULE_MM = 0.33
COLUMNS = 6
SECURITY_LEVEL = 5


def pdf417_image(text: str) -> Image.Image:
    """One pixel per module (rows three tall): a 1-bit image of a few hundred bytes, to be
    placed at ``MODULE_MM`` per pixel rather than scaled up as a bitmap."""
    codes = pdf417gen.encode(text, columns=COLUMNS, security_level=SECURITY_LEVEL)
    image: Image.Image = pdf417gen.render_image(codes, scale=1, ratio=3, padding=0)
    return image.convert("1")
