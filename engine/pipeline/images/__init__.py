"""Product images for exports: fetch over http(s), optimise with Pillow, cache by content, embed or zip them.

`options` (what a template asks for, the rename pattern), `fetch` (download on top of engine.net.http),
`render` (Pillow), `cache` (content-addressed files, URL index, prune), `processor` (one run: fetch, render and
cache each image, one result per image) and `zip` (the archive beside the export file).
"""

from engine.pipeline.images.cache import prune_image_cache
from engine.pipeline.images.fetch import FetchedImage, Fetcher, FetchFailed, HttpFetcher
from engine.pipeline.images.options import (
    RENAME_PLACEHOLDERS,
    ImageFormat,
    ImageMode,
    ImageOptions,
    check_rename_pattern,
    render_file_name,
)
from engine.pipeline.images.processor import ImageProcessor, ImageResult, ImageStats
from engine.pipeline.images.zip import ImageZip

__all__ = [
    "RENAME_PLACEHOLDERS",
    "FetchFailed",
    "FetchedImage",
    "Fetcher",
    "HttpFetcher",
    "ImageFormat",
    "ImageMode",
    "ImageOptions",
    "ImageProcessor",
    "ImageResult",
    "ImageStats",
    "ImageZip",
    "check_rename_pattern",
    "prune_image_cache",
    "render_file_name",
]
