"""Images for lessons: checked by their content, re-encoded without metadata before serving.

A course keeps its images in `media/`. The author's file is kept as it was (export gives it
back byte for byte); learners get a re-encoded copy: no EXIF (camera, GPS), no comments, no
trailing data, at most 2,000 pixels wide. SVG is refused: it can carry script.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_MEDIA_BYTES = 2 * 1024 * 1024
MAX_PIXELS = 25_000_000  # a larger image is refused as a likely decompression bomb
MAX_WIDTH = 2000
CONTENT_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
EXTENSIONS = {"PNG": ("png",), "JPEG": ("jpg", "jpeg"), "WEBP": ("webp",), "GIF": ("gif",)}
MEDIA_NAME = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*\.(png|jpg|jpeg|webp|gif)$")


class MediaRefused(ValueError):
    """The file is not an image the portal serves; the message says why."""


@dataclass(frozen=True)
class PublishedImage:
    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def _open(data: bytes) -> Image.Image:
    if len(data) > MAX_MEDIA_BYTES:
        raise MediaRefused(f"is {len(data):,} bytes; an image may be at most 2 MiB")
    head = data[:512].lstrip().lower()
    if head.startswith((b"<svg", b"<?xml", b"<!doctype", b"<html")):
        raise MediaRefused("is SVG or HTML, not an image the portal serves (PNG, JPEG, WebP, GIF)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.verify()  # checks the file's structure; the image must be reopened after
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaRefused("has too many pixels to be a lesson image") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise MediaRefused(
            "is not a PNG, JPEG, WebP or GIF image (judged by its content)"
        ) from None
    if image.format not in CONTENT_TYPES:
        raise MediaRefused(f"is a {image.format} image; use PNG, JPEG, WebP or GIF")
    if image.width * image.height > MAX_PIXELS:
        raise MediaRefused("has too many pixels to be a lesson image")
    return image


def check_image(name: str, data: bytes) -> str:
    """The image's format, or MediaRefused. The name's extension must match the content."""
    if not MEDIA_NAME.match(name):
        raise MediaRefused(
            "image names are lowercase letters, digits and hyphens with .png, .jpg, .webp or .gif"
        )
    image = _open(data)
    extension = name.rsplit(".", 1)[1]
    if extension not in EXTENSIONS[image.format]:
        raise MediaRefused(f"is a {image.format} image but its name ends in .{extension}")
    return image.format


def publishable(data: bytes) -> PublishedImage:
    """Re-encode for learners: orientation applied, metadata gone, at most MAX_WIDTH wide."""
    image = _open(data)
    fmt = image.format
    animated = fmt == "GIF" and getattr(image, "n_frames", 1) > 1
    output = io.BytesIO()
    if animated:
        # Frames are re-written by Pillow, which carries over no comment or extension block.
        image.save(output, format="GIF", save_all=True, optimize=True)
    else:
        image = ImageOps.exif_transpose(image)
        if image.width > MAX_WIDTH:
            height = round(image.height * MAX_WIDTH / image.width)
            image = image.resize((MAX_WIDTH, height), Image.Resampling.LANCZOS)
        if fmt == "JPEG":
            image.convert("RGB").save(output, format="JPEG", quality=85, optimize=True)
        elif fmt == "WEBP":
            image.save(output, format="WEBP", quality=85)
        elif fmt == "GIF":
            image.save(output, format="GIF", optimize=True)
        else:
            image.save(output, format="PNG", optimize=True)
    return PublishedImage(
        data=output.getvalue(),
        content_type=CONTENT_TYPES[fmt],
        extension=EXTENSIONS[fmt][0],
        width=image.width,
        height=image.height,
    )
