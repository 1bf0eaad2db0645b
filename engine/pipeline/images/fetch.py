"""Image download on top of engine.net.http: content-type checks, size limit, conditional requests.

- Content types: `image/*` types Pillow reads are accepted, and so are `application/octet-stream` and a missing
  Content-Type (common on object storage): the bytes are identified by Pillow either way. Other `image/*`
  types (SVG, HEIC...) and non-images are refused before the body is downloaded.
- `timeout` is the budget of one attempt on one image: connect, redirects, headers and body together (DNS
  resolution excepted). A failure is `retryable` after a connection error, 408, 429 or 5xx, not after a timeout.
- Conditional requests: the caller passes the validators it holds (If-None-Match, If-Modified-Since) and gets
  a 304 back without a body when they still match.
"""

from __future__ import annotations

import hashlib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from engine import __version__
from engine.errors import ExportsError, FatalError, RetryableError
from engine.net.http import (
    AddressRefused,
    HttpClient,
    HttpResponse,
    RequestTimedOut,
    Resolver,
    ResponseTooLarge,
    RetryableHttpError,
    human_bytes,
    resolve_host,
)
from engine.pipeline.images.render import OPEN_FORMATS

USER_AGENT = f"PM-Exports/{__version__} (product image fetcher)"
PRIVATE_NETWORKS_HINT = "set PM_EXPORTS_IMAGES_ALLOW_PRIVATE_NETWORKS=true to fetch images from a private network"

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
    | ({"image/avif"} if "AVIF" in OPEN_FORMATS else set())
)
_GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


class FetchFailed(ExportsError):
    """A download failed; `retryable` when another attempt may succeed (connection error, 408, 429, 5xx)."""

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

    @property
    def requests(self) -> int: ...

    def fetch(
        self, url: str, dest: Path, *, max_bytes: int, timeout: float, headers: Mapping[str, str]
    ) -> FetchedImage: ...

    def close(self) -> None: ...


class HttpFetcher:
    """Fetches images with the safe HTTP client (keep-alive connections shared by the pool threads, at most 5
    redirects, internal addresses refused unless allowed), checking the content type before the body and the
    size limit while streaming it."""

    def __init__(
        self,
        *,
        user_agent: str = USER_AGENT,
        ssl_context: ssl.SSLContext | None = None,
        allow_private_networks: bool = False,
        resolve: Resolver = resolve_host,
    ) -> None:
        self._client = HttpClient(
            user_agent=user_agent,
            ssl_context=ssl_context,
            allow_private_networks=allow_private_networks,
            resolve=resolve,
        )

    @property
    def requests(self) -> int:
        """HTTP requests sent so far (redirect hops and retries included)."""
        return self._client.requests

    def fetch(
        self, url: str, dest: Path, *, max_bytes: int, timeout: float, headers: Mapping[str, str]
    ) -> FetchedImage:
        request_headers = {"Accept": "image/*", **headers}
        try:
            with self._client.stream(
                "GET", url, headers=request_headers, timeout=timeout, max_bytes=max_bytes
            ) as response:
                if response.status == 304 and headers:
                    return FetchedImage(
                        304, response.url, etag=response.header("ETag"), last_modified=response.header("Last-Modified")
                    )
                if response.status != 200:
                    raise FetchFailed(f"HTTP {response.status}")
                return _save(response, dest)
        except AddressRefused as exc:
            raise FetchFailed(f"{exc}; {PRIVATE_NETWORKS_HINT}") from None
        except ResponseTooLarge:
            raise FetchFailed(f"file larger than {human_bytes(max_bytes)}") from None
        except RequestTimedOut as exc:
            raise FetchFailed(str(exc)) from None
        except RetryableHttpError as exc:
            raise FetchFailed(str(exc), retryable=True, retry_after=exc.retry_after) from None
        except RetryableError as exc:
            raise FetchFailed(str(exc), retryable=True) from None
        except FatalError as exc:
            raise FetchFailed(str(exc)) from None

    def close(self) -> None:
        self._client.close()


def _save(response: HttpResponse, dest: Path) -> FetchedImage:
    """Check the headers, then stream the body into `dest` while hashing it."""
    content_type = (response.header("Content-Type") or "").split(";")[0].strip().lower()
    if content_type not in _IMAGE_TYPES and content_type not in _GENERIC_TYPES:
        if content_type.startswith("image/"):
            raise FetchFailed(f"unsupported image type ({content_type})")
        raise FetchFailed(f"not an image ({content_type})")
    encoding = (response.header("Content-Encoding") or "identity").strip().lower()
    if encoding != "identity":
        raise FetchFailed(f"unsupported content encoding ({encoding})")
    digest = hashlib.sha256()
    size = 0
    try:
        out = dest.open("wb")
    except OSError as exc:
        raise FetchFailed(f"cannot store the download: {exc.strerror or exc}") from None
    with out:
        for chunk in response.iter_bytes():
            size += len(chunk)
            digest.update(chunk)
            try:
                out.write(chunk)
            except OSError as exc:
                raise FetchFailed(f"cannot store the download: {exc.strerror or exc}") from None
    if size == 0:
        raise FetchFailed("empty response")
    return FetchedImage(
        200,
        response.url,
        content_type=content_type,
        etag=response.header("ETag"),
        last_modified=response.header("Last-Modified"),
        size=size,
        sha256=digest.hexdigest(),
    )
