"""Image options of a template (embedding mode, optimisation, renaming, fetch limits) and the rename pattern."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal, get_args

from engine.errors import TemplateError
from engine.pipeline.naming import safe_file_name

ImageMode = Literal["url", "base64", "zip"]
ImageFormat = Literal["jpeg", "png", "webp", "original"]

MiB = 1024 * 1024
RENAME_PLACEHOLDERS = ("sku", "ean", "id", "position", "ext", "hash")

# Bump when the processing changes in a way that changes output files: old cache entries are then ignored.
PROCESSOR_VERSION = 1

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class ImageOptions:
    """How a template wants its images: embedding mode, optimisation, renaming and fetch limits."""

    mode: ImageMode = "url"
    max_width: int | None = 1200  # the box the image must fit in; never upscaled
    max_height: int | None = 1200
    format: ImageFormat = "jpeg"
    quality: int = 85  # JPEG and WebP, 1..100
    rename: str = "{sku}-{position}.{ext}"
    max_bytes: int = 20 * MiB  # download size limit
    max_pixels: int = 40_000_000  # decompression-bomb guard, checked before decoding
    timeout: float = 10.0  # seconds per attempt per image: connect, redirects, headers and body
    max_images: int | None = None  # per product, the first ones in order
    retries: int = 1  # extra attempts after a connection error, 429 or 5xx (not after a timeout)

    def __post_init__(self) -> None:
        _check_choice("mode", self.mode, get_args(ImageMode))
        _check_choice("format", self.format, get_args(ImageFormat))
        _check_int("max_width", self.max_width, 1, 20_000, nullable=True)
        _check_int("max_height", self.max_height, 1, 20_000, nullable=True)
        _check_int("quality", self.quality, 1, 100)
        _check_int("max_bytes", self.max_bytes, 1, 1024 * MiB)
        _check_int("max_pixels", self.max_pixels, 1, 1_000_000_000)
        _check_int("max_images", self.max_images, 1, 1000, nullable=True)
        _check_int("retries", self.retries, 0, 5)
        if isinstance(self.timeout, bool) or not isinstance(self.timeout, int | float):
            raise TemplateError("must be a number of seconds", "options.images.timeout")
        if not 0 < self.timeout <= 300:
            raise TemplateError("must be more than 0 and at most 300 seconds", "options.images.timeout")
        object.__setattr__(self, "timeout", float(self.timeout))
        check_rename_pattern(self.rename)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ImageOptions:
        """Options from a template's `options["images"]`; raises TemplateError naming `options.images.<key>`."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise TemplateError("must be an object", "options.images")
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                raise TemplateError(f"unknown option (known: {', '.join(known)})", f"options.images.{key}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def fingerprint(self) -> str:
        """What changes the processed file; part of the cache key (rename, mode and limits are not)."""
        parts = (PROCESSOR_VERSION, self.max_width, self.max_height, self.format, self.quality)
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _check_choice(key: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise TemplateError(f"must be one of {', '.join(choices)} (got {value!r})", f"options.images.{key}")


def _check_int(key: str, value: object, low: int, high: int, *, nullable: bool = False) -> None:
    if value is None and nullable:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        kind = "an integer or null" if nullable else "an integer"
        raise TemplateError(f"must be {kind} (got {value!r})", f"options.images.{key}")
    if not low <= value <= high:
        raise TemplateError(f"must be between {low} and {high} (got {value})", f"options.images.{key}")


def check_rename_pattern(pattern: object) -> None:
    """Reject an empty pattern, an unknown placeholder or a stray brace, naming `options.images.rename`."""
    key = "options.images.rename"
    if not isinstance(pattern, str) or not pattern.strip():
        raise TemplateError("must be a non-empty text such as {sku}-{position}.{ext}", key)
    if len(pattern) > 200:
        raise TemplateError("must be at most 200 characters", key)
    for match in _PLACEHOLDER.finditer(pattern):
        if match[1] not in RENAME_PLACEHOLDERS:
            known = ", ".join("{" + p + "}" for p in RENAME_PLACEHOLDERS)
            raise TemplateError(f"unknown placeholder {match[0]} (known: {known})", key)
    if "{" in _PLACEHOLDER.sub("", pattern) or "}" in _PLACEHOLDER.sub("", pattern):
        raise TemplateError("has an unbalanced { or }", key)


def render_file_name(
    pattern: str, product: Mapping[str, Any], *, position: int, ext: str, sha256: str | None = None
) -> str:
    """The file name of one image from the rename pattern: a single safe component ending in `.ext`.

    `{sku}` falls back to the EAN then the id when the product has no SKU, `{ean}` to the SKU then the id.
    Each value keeps ASCII letters, digits, `.`, `_` and `-` only, so no value can add a folder or a dot-dot.
    """
    ident = stripped_text(product.get("id"))
    sku, ean = stripped_text(product.get("sku")), stripped_text(product.get("ean"))
    values = {
        "sku": sku or ean or ident,
        "ean": ean or sku or ident,
        "id": ident,
        "position": str(position),
        "ext": ext,
        "hash": (sha256 or "")[:16],
    }
    rendered = _PLACEHOLDER.sub(lambda m: _name_part(values.get(m[1], "")), pattern)
    if rendered.lower().endswith("." + ext):
        rendered = rendered[: -len(ext) - 1]
    stem = _name_part(rendered) or f"image-{position}"
    return f"{safe_file_name(stem)}.{ext}"


def stripped_text(value: object) -> str:
    """The value as text without surrounding spaces; None gives an empty text."""
    return "" if value is None else str(value).strip()


def _name_part(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"-{2,}", "-", text)
    return text.strip("-._")
