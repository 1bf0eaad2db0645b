"""Product images for exports: fetch over http(s), optimise with Pillow, cache by content, embed or zip them.

The pipeline builds one `ImageProcessor` per export run and calls `process_product` (or `process_many` for a
chunk, fetched by a small thread pool) with product records carrying `id`, `sku`, `ean` and
`images: [{"url", "alt", "position"}]`. Each input image gives one `ImageResult`; a failure (HTTP error,
timeout, not an image, corrupt data, decompression bomb, size limit) is a result with `ok=False` and a
message for the report, never an exception.

Processed files are cached by content in `cache_dir` (the pipeline passes `var/cache/images`):

    processed/<ab>/<key>.<ext> + <key>.json   key = sha256(source sha256 + processing options)
    urls/<ab>/<sha256(url)>.json               ETag / Last-Modified / source sha256 of a URL (conditional GET)
    tmp/run-*/                                 downloads in progress, removed by `close()`

so a second product pointing at the same bytes, or the same URL in a later export, is never decoded again,
and an unchanged URL answers 304 without a download. Every cache file is written atomically (temp + rename);
several processes may share the folder. Nothing evicts it: a maintenance job may delete files by mtime (a
cache hit refreshes the mtime of the processed file).

Decisions:
- Colour: an embedded ICC profile that is not sRGB is converted to sRGB, then every profile is dropped (the
  web assumes sRGB). EXIF, XMP, ICC, comments and DPI are never written.
- `format="original"` keeps JPEG, PNG, WebP and GIF; other sources (BMP, TIFF, AVIF) become PNG. Only the first
  frame of an animation is kept.
- Content types: `image/*` types Pillow reads are accepted, and so are `application/octet-stream` and a missing
  Content-Type (common on object storage): the bytes are identified by Pillow either way. Other `image/*`
  types (SVG, HEIC...) and non-images are refused before the body is downloaded.
- `timeout` is the budget of one attempt on one image: connect, redirects, headers and body together (DNS
  resolution excepted). A connection error, 429 or 5xx is retried `retries` times; a timeout is not.
- Encoding: JPEG progressive with optimised Huffman tables, WebP at `quality` (method 4), PNG at zlib level 6
  (optimize=True means level 9: four times the CPU for under 1% on photos), GIF with optimize=True.
- Downloads use http.client directly (exact deadlines, per-hop URL checks); proxy variables are not read.
- Pillow's pixel limit (`Image.MAX_IMAGE_PIXELS`) is a process global: it is set to `max_pixels` only while
  a header is read, under a lock, with the bomb warning turned into an error, then restored.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import http.client
import io
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import tempfile
import threading
import time
import unicodedata
import uuid
import warnings
import zipfile
from collections import OrderedDict, deque
from collections.abc import Callable, Generator, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Protocol, TypeVar, get_args
from urllib.parse import quote, urljoin, urlsplit

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError, features

from engine import __version__
from engine.errors import ExportsError, TemplateError
from engine.pipeline.naming import safe_file_name

ImageMode = Literal["url", "base64", "zip"]
ImageFormat = Literal["jpeg", "png", "webp", "original"]

MiB = 1024 * 1024
RENAME_PLACEHOLDERS = ("sku", "ean", "id", "position", "ext", "hash")
MAX_REDIRECTS = 5
USER_AGENT = f"PM-Exports/{__version__} (product image fetcher)"

# Bump when the processing changes in a way that changes output files: old cache entries are then ignored.
PROCESSOR_VERSION = 1

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_OUTPUT = {  # output format -> (Pillow format, extension, content type)
    "jpeg": ("JPEG", "jpg", "image/jpeg"),
    "png": ("PNG", "png", "image/png"),
    "webp": ("WEBP", "webp", "image/webp"),
    "gif": ("GIF", "gif", "image/gif"),
}
_ORIGINAL = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
# What Pillow may open: raster formats of the web and of photo studios. Never EPS (Ghostscript), PSD, ICO...
_OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF") + (("AVIF",) if features.check("avif") else ())
_IMAGE_TYPES = frozenset(
    {
        "image/jpeg",
        "image/jpg",
        "image/pjpeg",
        "image/png",
        "image/x-png",
        "image/apng",
        "image/webp",
        "image/gif",
        "image/bmp",
        "image/x-bmp",
        "image/x-ms-bmp",
        "image/tiff",
    }
    | ({"image/avif"} if "AVIF" in _OPEN_FORMATS else set())
)
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_REDUCING_GAP = 2.0
_CHUNK = 64 * 1024
_URL_MEMORY = 10_000  # URLs remembered per run (results reused without a request)
_IDLE_PER_HOST = 8

# Image.MAX_IMAGE_PIXELS and the warnings filters are process globals: changed under this lock only.
_PIL_GLOBALS = threading.Lock()


# -- options -------------------------------------------------------------------------------------------------


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


# -- results -------------------------------------------------------------------------------------------------


@dataclass
class ImageResult:
    """The outcome for one input image: the processed file in the cache, or the reason it failed."""

    url: str
    position: int
    ok: bool
    file_name: str | None = None  # the renamed file: ZIP entry name (before de-duplication), export name
    path: Path | None = None  # the processed file in the cache; read it, never move or change it
    content_type: str | None = None
    width: int | None = None
    height: int | None = None
    size: int | None = None  # bytes of the processed file
    sha256: str | None = None  # of the processed file
    base64: str | None = None  # base64 mode only: the processed file, plain base64 without the data: prefix
    error: str | None = None  # e.g. "HTTP 404", "timed out after 10 s", "image too large: ..."
    cached: bool = False  # the processed file came from the cache: no decode for this image

    @property
    def data_uri(self) -> str | None:
        """`data:<content type>;base64,<data>` in base64 mode, else None."""
        if self.base64 is None or self.content_type is None:
            return None
        return f"data:{self.content_type};base64,{self.base64}"


@dataclass
class ImageStats:
    """Counters over one processor's life (the figures the export report and the tests read)."""

    images: int = 0  # results returned
    failed: int = 0  # results with ok=False
    requests: int = 0  # HTTP requests sent (redirect hops and retries included)
    downloads: int = 0  # image bodies downloaded
    bytes_downloaded: int = 0
    not_modified: int = 0  # conditional requests answered 304: no download, no decode
    url_hits: int = 0  # URL already handled in this run: no request at all
    cache_hits: int = 0  # downloaded content already processed (by this run or an earlier one)
    decodes: int = 0  # images whose pixels were decoded and processed


def render_file_name(
    pattern: str, product: Mapping[str, Any], *, position: int, ext: str, sha256: str | None = None
) -> str:
    """The file name of one image from the rename pattern: a single safe component ending in `.ext`.

    `{sku}` falls back to the EAN then the id when the product has no SKU, `{ean}` to the SKU then the id.
    Each value keeps ASCII letters, digits, `.`, `_` and `-` only, so no value can add a folder or a dot-dot.
    """
    ident = _text(product.get("id"))
    sku, ean = _text(product.get("sku")), _text(product.get("ean"))
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


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _name_part(value: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    text = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"-{2,}", "-", text)
    return text.strip("-._")


def _human_bytes(n: int) -> str:
    if n % MiB == 0:
        return f"{n // MiB} MB"
    if n % 1024 == 0:
        return f"{n // 1024} kB"
    return f"{n} bytes"


# -- fetching ------------------------------------------------------------------------------------------------


class FetchFailed(ExportsError):
    """A download failed; `retryable` when another attempt may succeed (connection error, 429, 5xx)."""

    def __init__(self, message: str, *, retryable: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class FetchedImage:
    """What a fetch wrote to `dest`: status 200 (body, size, sha256) or 304 (validators matched, no body)."""

    status: int
    url: str  # after redirects
    content_type: str = ""
    etag: str | None = None
    last_modified: str | None = None
    size: int = 0
    sha256: str | None = None


class Fetcher(Protocol):
    """Downloads one URL into a file; raises FetchFailed with the message for the report."""

    requests: int

    def fetch(
        self, url: str, dest: Path, *, max_bytes: int, timeout: float, headers: Mapping[str, str]
    ) -> FetchedImage: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    path: str  # path + query, percent-encoded ASCII


def check_url(url: str) -> _Target:
    """Parse an image URL: http(s) only, no credentials, a host; non-ASCII parts are encoded. Raises FetchFailed."""
    url = url.strip()
    if not url:
        raise FetchFailed("no URL")
    if len(url) > 4096:
        raise FetchFailed("URL longer than 4096 characters")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise FetchFailed(f"unsupported URL scheme ({scheme or 'none'}): only http and https are fetched")
    if "@" in parts.netloc:
        raise FetchFailed("URLs with credentials are refused")
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
        port = parts.port or (443 if scheme == "https" else 80)
    except (UnicodeError, ValueError) as exc:
        raise FetchFailed(f"invalid URL: {exc}") from None
    if not host:
        raise FetchFailed("URL has no host")
    path = quote(parts.path or "/", safe="/%:@!$&'()*+,;=~")
    if parts.query:
        path += "?" + quote(parts.query, safe="/%:@!$&'()*+,;=~?")
    return _Target(scheme, host, port, path)


class HttpFetcher:
    """Fetches images with http.client: keep-alive connections shared by the pool threads, at most 5 redirects,
    the content type and the size limit checked before and while streaming, one deadline per attempt."""

    def __init__(
        self,
        *,
        user_agent: str = USER_AGENT,
        ssl_context: ssl.SSLContext | None = None,
        allow_private_networks: bool = False,
    ) -> None:
        self.user_agent = user_agent
        self.allow_private_networks = allow_private_networks
        self.requests = 0
        self._ssl = ssl_context or ssl.create_default_context()
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}

    def fetch(
        self, url: str, dest: Path, *, max_bytes: int, timeout: float, headers: Mapping[str, str]
    ) -> FetchedImage:
        deadline = time.monotonic() + timeout
        try:
            return self._fetch(url, dest, max_bytes=max_bytes, deadline=deadline, headers=headers)
        except TimeoutError:  # socket.timeout, and our own deadline
            raise FetchFailed(f"timed out after {timeout:g} s") from None
        except ssl.SSLError as exc:
            raise FetchFailed(f"TLS error: {exc.reason or exc}") from None
        except http.client.IncompleteRead as exc:
            raise FetchFailed(f"download interrupted ({len(exc.partial)} bytes received)", retryable=True) from None
        except http.client.HTTPException as exc:
            raise FetchFailed(f"bad HTTP response: {type(exc).__name__} {exc}".strip(), retryable=True) from None
        except OSError as exc:  # refused, reset, unreachable, DNS (socket.gaierror)
            reason = exc.strerror or str(exc) or type(exc).__name__
            raise FetchFailed(f"connection failed: {reason}", retryable=True) from None

    def _fetch(
        self, url: str, dest: Path, *, max_bytes: int, deadline: float, headers: Mapping[str, str]
    ) -> FetchedImage:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            target = check_url(current)
            conn, sock, response = self._send(target, headers, deadline)
            reusable = False
            try:
                status = response.status
                if status in _REDIRECTS:
                    location = response.getheader("Location")
                    reusable = _discard_body(response)
                    if not location:
                        raise FetchFailed(f"HTTP {status} without a Location")
                    current = urljoin(current, location.strip())
                    continue
                if status == 304 and headers:
                    reusable = _discard_body(response)
                    return FetchedImage(
                        304, current, etag=response.getheader("ETag"), last_modified=response.getheader("Last-Modified")
                    )
                if status != 200:
                    retry_after = _retry_after(response.getheader("Retry-After"))
                    reusable = _discard_body(response)
                    raise FetchFailed(f"HTTP {status}", retryable=status in _RETRY_STATUSES, retry_after=retry_after)
                fetched = self._read_body(sock, response, current, dest, max_bytes=max_bytes, deadline=deadline)
                reusable = not response.will_close
                return fetched
            finally:
                self._release(target, conn, response, reusable)
        raise FetchFailed(f"too many redirects (more than {MAX_REDIRECTS})")

    def _read_body(
        self,
        sock: socket.socket,
        response: http.client.HTTPResponse,
        url: str,
        dest: Path,
        *,
        max_bytes: int,
        deadline: float,
    ) -> FetchedImage:
        content_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if content_type not in _IMAGE_TYPES and content_type not in _GENERIC_TYPES:
            if content_type.startswith("image/"):
                raise FetchFailed(f"unsupported image type ({content_type})")
            raise FetchFailed(f"not an image ({content_type})")
        encoding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        if encoding != "identity":
            raise FetchFailed(f"unsupported content encoding ({encoding})")
        length = response.getheader("Content-Length")
        if length and length.strip().isdigit() and int(length) > max_bytes:
            raise FetchFailed(f"file larger than {_human_bytes(max_bytes)}")
        digest = hashlib.sha256()
        size = 0
        try:
            out = dest.open("wb")
        except OSError as exc:
            raise FetchFailed(f"cannot store the download: {exc.strerror or exc}") from None
        with out:
            while True:
                _set_timeout(sock, deadline)
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise FetchFailed(f"file larger than {_human_bytes(max_bytes)}")
                digest.update(chunk)
                out.write(chunk)
        if not response.isclosed():
            response.read()  # nothing left: marks the response complete so the connection can be reused
        if size == 0:
            raise FetchFailed("empty response")
        return FetchedImage(
            200,
            url,
            content_type=content_type,
            etag=response.getheader("ETag"),
            last_modified=response.getheader("Last-Modified"),
            size=size,
            sha256=digest.hexdigest(),
        )

    def _send(
        self, target: _Target, headers: Mapping[str, str], deadline: float
    ) -> tuple[http.client.HTTPConnection, socket.socket, http.client.HTTPResponse]:
        """Send the GET on an idle keep-alive connection to the host, or a new one; returns the connection, its
        socket (kept: the connection forgets it when the response closes it) and the response headers."""
        request_headers = {"User-Agent": self.user_agent, "Accept": "image/*", "Accept-Encoding": "identity"}
        request_headers.update(headers)
        conn = self._take_idle(target)
        if conn is not None:
            try:
                sock = conn.sock
                _set_timeout(sock, deadline)
                with self._lock:
                    self.requests += 1
                conn.request("GET", target.path, headers=request_headers)
                return conn, sock, conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                conn.close()  # the server closed the idle connection: one new attempt below
            except BaseException:
                conn.close()
                raise
        remaining = _remaining(deadline)
        if target.scheme == "https":
            conn = http.client.HTTPSConnection(target.host, target.port, timeout=remaining, context=self._ssl)
        else:
            conn = http.client.HTTPConnection(target.host, target.port, timeout=remaining)
        try:
            conn.connect()
            sock = conn.sock
            if not self.allow_private_networks:
                _refuse_private_peer(target, sock)
            _set_timeout(sock, deadline)
            with self._lock:
                self.requests += 1
            conn.request("GET", target.path, headers=request_headers)
            return conn, sock, conn.getresponse()
        except BaseException:
            conn.close()
            raise

    def _take_idle(self, target: _Target) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get((target.scheme, target.host, target.port))
            return idle.pop() if idle else None

    def _release(
        self,
        target: _Target,
        conn: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
        reusable: bool,
    ) -> None:
        if reusable and response.isclosed() and conn.sock is not None:
            with self._lock:
                idle = self._idle.setdefault((target.scheme, target.host, target.port), [])
                if len(idle) < _IDLE_PER_HOST:
                    idle.append(conn)
                    return
        response.close()
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for conn in connections:
                conn.close()


def _refuse_private_peer(target: _Target, sock: socket.socket) -> None:
    """Refuse a connection to a loopback, private, link-local or otherwise internal address (server-side request
    forgery: a catalogue URL must not reach the engine's own network). The address checked is the one actually
    connected to, before anything is sent, so a DNS answer that changes between lookups cannot get around it."""
    address = ipaddress.ip_address(sock.getpeername()[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        raise FetchFailed(
            f"refused: {target.host} is an internal address ({address}); "
            "set PM_EXPORTS_IMAGES_ALLOW_PRIVATE_NETWORKS=true to fetch images from a private network"
        )


def _remaining(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise TimeoutError
    return remaining


def _set_timeout(sock: socket.socket, deadline: float) -> None:
    # Every socket operation waits at most until the deadline, so a server trickling bytes cannot stretch it.
    sock.settimeout(_remaining(deadline))


def _discard_body(response: http.client.HTTPResponse) -> bool:
    """Read a small body away so the connection can be reused; True when it could."""
    length = response.getheader("Content-Length")
    if response.will_close or not (length and length.isdigit() and int(length) <= _CHUNK):
        return False
    response.read()
    return True


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


# -- processing ----------------------------------------------------------------------------------------------


class _Refused(Exception):
    """The image is refused before decoding (too many pixels)."""


@dataclass(frozen=True)
class _Rendered:
    format: str  # key of _OUTPUT
    width: int
    height: int


def _open_checked(path: Path, max_pixels: int) -> Image.Image:
    """Open (header only) under the pixel limit: Pillow's bomb warning and error both refuse the image."""
    with _PIL_GLOBALS:
        saved = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(path, formats=_OPEN_FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            found = re.search(r"\((\d+) pixels\)", str(exc))
            pixels = found[1] if found else "too many"
            raise _Refused(f"image too large: {pixels} pixels (limit {max_pixels})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = saved
    pixels = image.width * image.height
    if pixels > max_pixels:
        image.close()
        raise _Refused(f"image too large: {pixels} pixels (limit {max_pixels})")
    return image


def _render(source: Path, out: io.BytesIO, options: ImageOptions, on_decode: Callable[[], None]) -> _Rendered:
    """Decode, orient, convert, shrink into the box and encode without metadata.

    `on_decode` is called once the header passed the checks, right before pixels are decoded."""
    with _open_checked(source, options.max_pixels) as opened:
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
        pil_format = _OUTPUT[output][0]
        if output == "jpeg":
            image.save(out, pil_format, quality=options.quality, optimize=True, progressive=True)
        elif output == "webp":
            image.save(out, pil_format, quality=options.quality, method=4)
        elif output == "png":
            # zlib level 6, not optimize=True (level 9): 4x the CPU for under 1% on photos (measured)
            image.save(out, pil_format, compress_level=6)
        else:
            image.save(out, pil_format, optimize=True)
        return _Rendered(output, image.width, image.height)


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


# -- cache ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Processed:
    path: Path
    format: str
    width: int
    height: int
    size: int
    sha256: str
    cached: bool


@dataclass(frozen=True)
class _Failed:
    error: str


_Outcome = _Processed | _Failed


def _atomic_write(path: Path, data: bytes | memoryview) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with tmp.open("wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# -- the processor -------------------------------------------------------------------------------------------

P = TypeVar("P", bound=Mapping[str, Any])


class ImageProcessor:
    """Fetches, optimises and caches the images of products for one export run; see the module docstring."""

    def __init__(
        self,
        options: ImageOptions,
        cache_dir: Path,
        *,
        workers: int = 4,
        fetcher: Fetcher | None = None,
        allow_private_networks: bool = False,
    ) -> None:
        self.options = options
        self.cache_dir = Path(cache_dir)
        self.workers = max(1, workers)
        self._fetcher: Fetcher = (
            fetcher if fetcher is not None else HttpFetcher(allow_private_networks=allow_private_networks)
        )
        self._owns_fetcher = fetcher is None
        (self.cache_dir / "tmp").mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix="run-", dir=self.cache_dir / "tmp"))
        self._fingerprint = options.fingerprint
        self._lock = threading.Lock()
        self._url_locks = [threading.Lock() for _ in range(64)]  # one URL is fetched by one thread at a time
        self._outcomes: OrderedDict[str, _Outcome] = OrderedDict()
        self._stats = ImageStats()

    # public API

    def process_product(self, product: Mapping[str, Any]) -> list[ImageResult]:
        """One result per image of the product (the first `max_images`), in order. Never raises for an image."""
        return [self._process_image(product, url, position) for url, position in self._images_of(product)]

    def process_many(
        self, products: Iterable[P], *, workers: int | None = None
    ) -> Generator[tuple[P, list[ImageResult]], None, None]:
        """`(product, results)` in input order; the images of the next products are fetched meanwhile by a
        small thread pool (`workers`, default the processor's). At most 4 images per worker are in flight."""
        count = workers or self.workers
        if count <= 1:
            for product in products:
                yield product, self.process_product(product)
            return
        window = count * 4
        pending: deque[tuple[P, list[Future[ImageResult]]]] = deque()
        in_flight = 0
        pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="images")
        try:
            for product in products:
                jobs = [pool.submit(self._process_image, product, u, p) for u, p in self._images_of(product)]
                pending.append((product, jobs))
                in_flight += len(jobs)
                while pending and (in_flight >= window or not pending[0][1]):
                    done, futures = pending.popleft()
                    in_flight -= len(futures)
                    yield done, [f.result() for f in futures]
            while pending:
                done, futures = pending.popleft()
                yield done, [f.result() for f in futures]
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    @property
    def stats(self) -> ImageStats:
        with self._lock:
            stats = replace(self._stats)
        stats.requests = self._fetcher.requests
        return stats

    def close(self) -> None:
        """Close idle connections and remove this run's temporary downloads."""
        if self._owns_fetcher:
            self._fetcher.close()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> ImageProcessor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # per image

    def _images_of(self, product: Mapping[str, Any]) -> list[tuple[str, int]]:
        images = product.get("images") or []
        if isinstance(images, str | bytes | Mapping):  # not a list of images: nothing to fetch
            images = []
        found: list[tuple[str, int]] = []
        for index, image in enumerate(images):
            if isinstance(image, Mapping):
                url, position = image.get("url"), image.get("position")
            else:
                url, position = image, None
            if not isinstance(position, int) or isinstance(position, bool):
                position = index + 1
            found.append((_text(url), position))
        limit = self.options.max_images
        return found if limit is None else found[:limit]

    def _process_image(self, product: Mapping[str, Any], url: str, position: int) -> ImageResult:
        try:
            outcome = self._outcome(url)
            result = self._result(product, url, position, outcome)
        except Exception as exc:  # a bug here must cost one image, not the job
            result = ImageResult(url, position, ok=False, error=f"internal error: {type(exc).__name__}: {exc}")
        with self._lock:
            self._stats.images += 1
            self._stats.failed += not result.ok
        return result

    def _result(self, product: Mapping[str, Any], url: str, position: int, outcome: _Outcome) -> ImageResult:
        if isinstance(outcome, _Failed):
            return ImageResult(url, position, ok=False, error=outcome.error)
        _pil, ext, content_type = _OUTPUT[outcome.format]
        encoded = None
        if self.options.mode == "base64":
            encoded = base64.b64encode(outcome.path.read_bytes()).decode("ascii")
        return ImageResult(
            url,
            position,
            ok=True,
            file_name=render_file_name(self.options.rename, product, position=position, ext=ext, sha256=outcome.sha256),
            path=outcome.path,
            content_type=content_type,
            width=outcome.width,
            height=outcome.height,
            size=outcome.size,
            sha256=outcome.sha256,
            base64=encoded,
            cached=outcome.cached,
        )

    def _outcome(self, url: str) -> _Outcome:
        with self._url_locks[hash(url) % len(self._url_locks)]:
            with self._lock:
                known = self._outcomes.get(url)
                if known is not None:
                    self._outcomes.move_to_end(url)
                    self._stats.url_hits += 1
            if known is not None:
                return replace(known, cached=True) if isinstance(known, _Processed) else known
            outcome = self._fetch_and_process(url)
            with self._lock:
                self._outcomes[url] = outcome
                if len(self._outcomes) > _URL_MEMORY:
                    self._outcomes.popitem(last=False)
            return outcome

    def _fetch_and_process(self, url: str) -> _Outcome:
        try:
            check_url(url)
        except FetchFailed as exc:
            return _Failed(exc.message)
        index = _read_json(self._url_index_path(url))
        known_source = index.get("source_sha256") if index else None
        validators: dict[str, str] = {}
        if index and isinstance(known_source, str) and self._load_processed(known_source) is not None:
            if isinstance(index.get("etag"), str):
                validators["If-None-Match"] = index["etag"]
            if isinstance(index.get("last_modified"), str):
                validators["If-Modified-Since"] = index["last_modified"]
        source = self._tmp / f"{uuid.uuid4().hex}.src"
        try:
            try:
                fetched = self._download(url, source, validators)
                if fetched.status == 304:
                    cached = self._load_processed(str(known_source))
                    if cached is not None:
                        with self._lock:
                            self._stats.not_modified += 1
                        return cached
                    fetched = self._download(url, source, {})  # evicted meanwhile: fetch it whole
            except FetchFailed as exc:
                return _Failed(exc.message)
            if fetched.status != 200 or fetched.sha256 is None:
                return _Failed(f"unexpected HTTP {fetched.status}")
            with self._lock:
                self._stats.downloads += 1
                self._stats.bytes_downloaded += fetched.size
            self._write_url_index(url, fetched)
            cached = self._load_processed(fetched.sha256)
            if cached is not None:
                with self._lock:
                    self._stats.cache_hits += 1
                return cached
            return self._process_source(source, fetched.sha256)
        finally:
            source.unlink(missing_ok=True)

    def _download(self, url: str, dest: Path, validators: Mapping[str, str]) -> FetchedImage:
        attempt = 0
        while True:
            try:
                return self._fetcher.fetch(
                    url, dest, max_bytes=self.options.max_bytes, timeout=self.options.timeout, headers=validators
                )
            except FetchFailed as exc:
                if not exc.retryable or attempt >= self.options.retries:
                    raise
                attempt += 1
                time.sleep(min(exc.retry_after if exc.retry_after is not None else 0.5 * attempt, 2.0))

    def _process_source(self, source: Path, source_sha256: str) -> _Outcome:
        out = io.BytesIO()
        try:
            rendered = _render(source, out, self.options, self._count_decode)
        except _Refused as exc:
            return _Failed(str(exc))
        except UnidentifiedImageError:
            return _Failed("corrupt image: not a recognised image format")
        except MemoryError:
            return _Failed("image could not be decoded: out of memory")
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad data
            return _Failed(f"corrupt image: {str(exc) or type(exc).__name__}"[:300])
        data = out.getbuffer()
        digest = hashlib.sha256(data).hexdigest()
        key = self._cache_key(source_sha256)
        ext = _OUTPUT[rendered.format][1]
        path = self._processed_dir(key) / f"{key}.{ext}"
        meta = {
            "format": rendered.format,
            "width": rendered.width,
            "height": rendered.height,
            "size": len(data),
            "sha256": digest,
            "source_sha256": source_sha256,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        try:
            _atomic_write(path, data)
            _atomic_write(path.with_suffix(".json"), json.dumps(meta).encode())
        except OSError as exc:
            return _Failed(f"cannot write the image cache: {exc}")
        return _Processed(path, rendered.format, rendered.width, rendered.height, len(data), digest, cached=False)

    def _count_decode(self) -> None:
        with self._lock:
            self._stats.decodes += 1

    # cache files

    def _cache_key(self, source_sha256: str) -> str:
        return hashlib.sha256(f"{source_sha256}:{self._fingerprint}".encode()).hexdigest()

    def _processed_dir(self, key: str) -> Path:
        return self.cache_dir / "processed" / key[:2]

    def _load_processed(self, source_sha256: str) -> _Processed | None:
        key = self._cache_key(source_sha256)
        meta = _read_json(self._processed_dir(key) / f"{key}.json")
        if meta is None or meta.get("format") not in _OUTPUT:
            return None
        path = self._processed_dir(key) / f"{key}.{_OUTPUT[meta['format']][1]}"
        try:
            if path.stat().st_size != meta.get("size"):
                return None
            os.utime(path)  # recently used: a maintenance job evicting by mtime keeps it
        except OSError:
            return None
        return _Processed(path, meta["format"], meta["width"], meta["height"], meta["size"], meta["sha256"], True)

    def _url_index_path(self, url: str) -> Path:
        digest = hashlib.sha256(url.encode()).hexdigest()
        return self.cache_dir / "urls" / digest[:2] / f"{digest}.json"

    def _write_url_index(self, url: str, fetched: FetchedImage) -> None:
        if not (fetched.etag or fetched.last_modified):
            return
        entry = {
            "url": url,
            "etag": fetched.etag,
            "last_modified": fetched.last_modified,
            "source_sha256": fetched.sha256,
        }
        with contextlib.suppress(OSError):  # only an optimisation for the next run
            _atomic_write(self._url_index_path(url), json.dumps(entry).encode())


# -- ZIP mode ------------------------------------------------------------------------------------------------


class ImageZip:
    """A ZIP of processed images beside the export file, written entry by entry (files are copied from the
    cache in chunks; only the entry names are kept in memory). Entries are stored, not deflated: JPEG, PNG
    and WebP are compressed already. Names are unique, case-insensitively. The file appears at `path` on
    `close()` only; `abort()` (or an exception in a `with` block) removes the partial file."""

    def __init__(self, path: Path, *, when: dt.datetime | None = None) -> None:
        self.path = Path(path)
        self.count = 0
        stamp = when or dt.datetime.now()
        self._date_time = (max(stamp.year, 1980), stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
        self._partial = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.part")
        self._zip: zipfile.ZipFile | None = zipfile.ZipFile(self._partial, "w", zipfile.ZIP_STORED, allowZip64=True)
        self._names: set[str] = set()

    def add(self, result: ImageResult, name: str | None = None) -> str | None:
        """Add a processed image under `name` (default its `file_name`); returns the entry name actually used
        (`-2`, `-3`... added on a clash), or None for a failed result."""
        if self._zip is None:
            raise ValueError("the image ZIP is closed")
        if not result.ok or result.path is None:
            return None
        entry = self._unique(safe_file_name(name or result.file_name or result.path.name))
        info = zipfile.ZipInfo(entry, date_time=self._date_time)
        info.compress_type = zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16
        with result.path.open("rb") as source, self._zip.open(info, "w") as target:
            shutil.copyfileobj(source, target, _CHUNK)
        self.count += 1
        return entry

    def _unique(self, name: str) -> str:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        candidate, n = name, 2
        while candidate.casefold() in self._names:
            candidate = f"{stem}-{n}.{ext}" if dot else f"{stem}-{n}"
            n += 1
        self._names.add(candidate.casefold())
        return candidate

    def close(self) -> tuple[Path, int]:
        """Finish the ZIP and move it into place; returns (path, number of entries)."""
        if self._zip is not None:
            self._zip.close()
            self._zip = None
            os.replace(self._partial, self.path)
        return self.path, self.count

    def abort(self) -> None:
        if self._zip is not None:
            self._zip.close()
            self._zip = None
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> ImageZip:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


__all__ = [
    "RENAME_PLACEHOLDERS",
    "FetchFailed",
    "FetchedImage",
    "Fetcher",
    "HttpFetcher",
    "ImageOptions",
    "ImageProcessor",
    "ImageResult",
    "ImageStats",
    "ImageZip",
    "check_rename_pattern",
    "check_url",
    "render_file_name",
]
