"""Image rendering with Pillow: open under the pixel limit (bomb protection), apply EXIF orientation, convert
colour to sRGB, shrink into the box and encode without metadata.

- Colour: an embedded ICC profile that is not sRGB is converted to sRGB, then every profile is dropped (the
  web assumes sRGB). EXIF, XMP, ICC, comments and DPI are never written.
- `format="original"` keeps JPEG, PNG, WebP and GIF; other sources (BMP, TIFF, AVIF) become PNG. Only the first
  frame of an animation is kept.
- Encoding: JPEG progressive with optimised Huffman tables, WebP at `quality` (method 4), PNG at zlib level 6
  (optimize=True means level 9: four times the CPU for under 1% on photos), GIF with optimize=True.
- Pillow's pixel limit (`Image.MAX_IMAGE_PIXELS`) is a process global: it is set to `max_pixels` only while
  a header is read, under a lock, with the bomb warning turned into an error, then restored.
"""

from __future__ import annotations

import functools
import io
import re
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import ExifTags, Image, ImageOps, features

from engine.pipeline.images.options import ImageOptions

OUTPUT_FORMATS = {  # output format -> (Pillow format, extension, content type)
    "jpeg": ("JPEG", "jpg", "image/jpeg"),
    "png": ("PNG", "png", "image/png"),
    "webp": ("WEBP", "webp", "image/webp"),
    "gif": ("GIF", "gif", "image/gif"),
}
# What Pillow may open: raster formats of the web and of photo studios. Never EPS (Ghostscript), PSD, ICO...
OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF") + (("AVIF",) if features.check("avif") else ())
_ORIGINAL = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
_REDUCING_GAP = 2.0

# Image.MAX_IMAGE_PIXELS and the warnings filters are process globals: changed under this lock only.
_PIL_GLOBALS = threading.Lock()


class Refused(Exception):
    """The image is refused before decoding (too many pixels)."""


@dataclass(frozen=True)
class Rendered:
    """What `render` wrote: the output format (a key of OUTPUT_FORMATS) and the size in pixels."""

    format: str
    width: int
    height: int


def open_checked(path: Path, max_pixels: int) -> Image.Image:
    """Open (header only) under the pixel limit: Pillow's bomb warning and error both refuse the image."""
    with _PIL_GLOBALS:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(path, formats=OPEN_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            pixels = found[1] if found else "too many"
            raise Refused(f"image too large: {pixels} pixels (limit {max_pixels})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    pixels = image.width * image.height
    if pixels > max_pixels:
        image.close()
        raise Refused(f"image too large: {pixels} pixels (limit {max_pixels})")
    return image


def render(source: Path, out: io.BytesIO, options: ImageOptions, on_decode: Callable[[], None]) -> Rendered:
    """Decode, orient, convert, shrink into the box and encode without metadata.

    `on_decode` is called once the header passed the checks, right before pixels are decoded."""
    with open_checked(source, options.max_pixels) as opened:
        output = _ORIGINAL.get(opened.format or "", "png") if options.format == "original" else options.format
        box = (options.max_width or opened.width, options.max_height or opened.height)
        orientation = _orientation(opened)
        if opened.format in ("JPEG", "MPO"):
            # Let libjpeg decode at 1/2, 1/4 or 1/8 scale when the box allows it (the stored image may be
            # rotated: the box is then swapped).
            stored_box = (box[1], box[0]) if orientation in (5, 6, 7, 8) else box
            opened.draft(None, (int(stored_box[0] * _REDUCING_GAP), int(stored_box[1] * _REDUCING_GAP)))
        icc = opened.info.get("icc_profile")
        on_decode()
        ImageOps.exif_transpose(opened, in_place=True)
        image = _normalise_mode(opened, icc)
        image.thumbnail(box, Image.Resampling.LANCZOS, reducing_gap=_REDUCING_GAP)  # never upscales
        if icc and image.mode in ("RGB", "RGBA"):
            image = _to_srgb(image, icc)
        image = _for_output(image, output)
        image.info = {}  # no EXIF, XMP, ICC, comment or DPI reach the encoder
        pil_format = OUTPUT_FORMATS[output][0]
        if output == "jpeg":
            image.save(out, pil_format, quality=options.quality, optimize=True, progressive=True)
        elif output == "webp":
            image.save(out, pil_format, quality=options.quality, method=4)
        elif output == "png":
            # zlib level 6, not optimize=True (level 9): 4x the CPU for under 1% on photos (measured)
            image.save(out, pil_format, compress_level=6)
        else:
            image.save(out, pil_format, optimize=True)
        return Rendered(output, image.width, image.height)


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:  # unreadable EXIF: exif_transpose will ignore it as well
        return 1
    return value if isinstance(value, int) else 1


def _normalise_mode(image: Image.Image, icc: bytes | None) -> Image.Image:
    """A mode that resizes well: L, LA, RGB or RGBA (palettes would be resized with the nearest pixel)."""
    mode = image.mode
    transparent = image.has_transparency_data
    if mode in ("RGBA", "LA") or (mode in ("RGB", "L") and not transparent):
        return image
    if mode in ("RGB", "L"):  # a tRNS colour key
        return image.convert("RGBA" if mode == "RGB" else "LA")
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I") or mode == "F":  # 16/32-bit grey: scale to 8 bits rather than clip
        return image.convert("I").point(lambda v: v * (1 / 256)).convert("L")
    if mode == "CMYK":
        return _to_srgb(image, icc) if icc else image.convert("RGB")
    return image.convert("RGBA" if transparent else "RGB")


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Convert from the embedded profile to sRGB; a broken or mismatched profile leaves the pixels as they are."""
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if image.mode != "CMYK" and "srgb" in ImageCms.getProfileDescription(profile).lower():
            return image
        mode = "RGBA" if image.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(image, profile, _srgb_profile(), outputMode=mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return image.convert("RGB") if image.mode == "CMYK" else image
    return converted if converted is not None else image


@functools.cache
def _srgb_profile() -> Any:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _for_output(image: Image.Image, output: str) -> Image.Image:
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema() == (255, 255):
        image = image.convert("RGB" if image.mode == "RGBA" else "L")  # an alpha channel that is all opaque
    if output == "jpeg" and image.mode in ("RGBA", "LA"):  # transparent areas become white
        background = Image.new("RGB" if image.mode == "RGBA" else "L", image.size, "white")
        background.paste(image.convert(background.mode), mask=image.getchannel("A"))
        return background
    if output == "webp" and image.mode in ("L", "LA"):
        return image.convert("RGB" if image.mode == "L" else "RGBA")
    return image
