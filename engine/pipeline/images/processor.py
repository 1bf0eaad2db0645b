"""Product images for exports: fetch, optimise, cache and return one result per image, for one export run.

The pipeline builds one `ImageProcessor` per export run and calls `process_product` (or `process_many` for a
chunk, fetched by a small thread pool) with product records carrying `id`, `sku`, `ean` and
`images: [{"url", "alt", "position"}]`. Each input image gives one `ImageResult`; a failure (HTTP error,
timeout, not an image, corrupt data, decompression bomb, size limit) is a result with `ok=False` and a
message for the report, never an exception. Downloading is `fetch`, decoding and encoding `render`, the
content-addressed store `cache`; this module puts them together and counts what happened.
"""

from __future__ import annotations

import base64
import io
import shutil
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Generator, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from PIL import UnidentifiedImageError

from engine.net.http import InvalidUrl, parse_url
from engine.pipeline.images.cache import ImageCache, ProcessedImage
from engine.pipeline.images.fetch import FetchedImage, Fetcher, FetchFailed, HttpFetcher
from engine.pipeline.images.options import ImageOptions, render_file_name, stripped_text
from engine.pipeline.images.render import OUTPUT_FORMATS, Refused, render

_URL_MEMORY = 10_000  # URLs remembered per run (results reused without a request)

P = TypeVar("P", bound=Mapping[str, Any])


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


@dataclass(frozen=True)
class _Failed:
    error: str


_Outcome = ProcessedImage | _Failed


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
        self._cache = ImageCache(self.cache_dir, options.fingerprint)
        self._tmp = self._cache.new_run_folder()
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
            found.append((stripped_text(url), position))
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
        _pil, ext, content_type = OUTPUT_FORMATS[outcome.format]
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
                return replace(known, cached=True) if isinstance(known, ProcessedImage) else known
            outcome = self._fetch_and_process(url)
            with self._lock:
                self._outcomes[url] = outcome
                if len(self._outcomes) > _URL_MEMORY:
                    self._outcomes.popitem(last=False)
            return outcome

    def _fetch_and_process(self, url: str) -> _Outcome:
        try:
            parse_url(url)
        except InvalidUrl as exc:
            return _Failed(str(exc))
        known_source, validators = self._cache.url_validators(url)
        source = self._tmp / f"{uuid.uuid4().hex}.src"
        try:
            try:
                fetched = self._download(url, source, validators)
                if fetched.status == 304:
                    cached = self._cache.load(known_source) if known_source is not None else None
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
            self._cache.remember_url(url, fetched)
            cached = self._cache.load(fetched.sha256)
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
            rendered = render(source, out, self.options, self._count_decode)
        except Refused as exc:
            return _Failed(str(exc))
        except UnidentifiedImageError:
            return _Failed("corrupt image: not a recognised image format")
        except MemoryError:
            return _Failed("image could not be decoded: out of memory")
        except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError, struct.error... on bad data
            return _Failed(f"corrupt image: {str(exc) or type(exc).__name__}"[:300])
        try:
            return self._cache.store(source_sha256, out.getbuffer(), rendered)
        except OSError as exc:
            return _Failed(f"cannot write the image cache: {exc}")

    def _count_decode(self) -> None:
        with self._lock:
            self._stats.decodes += 1
