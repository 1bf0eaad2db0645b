"""Images: fetching against a local HTTP server, Pillow processing checked on the output files, cache, ZIP."""

from __future__ import annotations

import base64
import hashlib
import io
import socket
import struct
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from engine.errors import TemplateError
from engine.pipeline.images import (
    ImageOptions,
    ImageProcessor,
    ImageResult,
    ImageZip,
    render_file_name,
)
from tests.image_server import ImageServer

# -- generated fixture images ---------------------------------------------------------------------------------


def photo(width: int, height: int) -> Image.Image:
    """A photo-like RGB image with detail everywhere (so JPEG quality has a visible effect)."""
    red = Image.linear_gradient("L").resize((width, height))
    green = Image.effect_mandelbrot((width, height), (-2.0, -1.2, 0.8, 1.2), 24)
    blue = Image.effect_noise((width // 4, height // 4), 40).resize((width, height), Image.Resampling.BICUBIC)
    return Image.merge("RGB", (red, green, blue))


def encode(image: Image.Image, fmt: str, **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def png_bomb(width: int, height: int) -> bytes:
    """A genuine 1-bit PNG of width x height black pixels: a few kB that decode to `width * height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj()
    block = row * 500
    idat = b"".join(compressor.compress(block) for _ in range(height // 500))
    idat += compressor.compress(row * (height % 500)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


class Samples:
    """Every image the tests serve, made once per test process."""

    def __init__(self) -> None:
        big = photo(2400, 1600)

        def scaled(width: int, height: int) -> Image.Image:
            return big.resize((width, height), Image.Resampling.BILINEAR)

        exif = Image.Exif()
        exif[0x010F] = "TestCam"  # Make
        exif[0x0132] = "2024:01:01 10:00:00"  # DateTime
        srgb = _srgb_icc()
        self.jpeg = encode(big, "JPEG", quality=92, exif=exif.tobytes(), icc_profile=srgb, xmp=b"<x:xmpmeta/>")
        self.jpeg_small = encode(scaled(300, 200), "JPEG", quality=90)
        self.jpeg_mid = encode(scaled(1200, 1000), "JPEG", quality=90)
        self.png = encode(scaled(1600, 1200), "PNG")
        self.webp = encode(scaled(1600, 1200), "WEBP", quality=90)
        self.gif = encode(scaled(400, 300).convert("P", palette=Image.Palette.ADAPTIVE), "GIF")
        self.bmp = encode(scaled(400, 300), "BMP")
        # orientation 6: stored 200x100 (red left, blue right), displayed 100x200 with red on top
        stored = Image.new("RGB", (200, 100), "blue")
        stored.paste((255, 0, 0), (0, 0, 100, 100))
        rotated = Image.Exif()
        rotated[0x0112] = 6
        rotated[0x010F] = "TestCam"
        self.rotated = encode(stored, "JPEG", quality=95, exif=rotated.tobytes())
        # transparency: left half fully transparent, right half opaque green
        rgba = Image.new("RGBA", (400, 200), (0, 200, 0, 255))
        rgba.paste((255, 0, 0, 0), (0, 0, 200, 200))
        self.png_alpha = encode(rgba, "PNG")
        palette = Image.new("P", (120, 80), 1)
        palette.putpalette([255, 255, 255, 10, 20, 200] + [0, 0, 0] * 254)
        palette.paste(0, (0, 0, 60, 80))
        self.png_palette = encode(palette, "PNG", transparency=0)
        self.cmyk = encode(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG")
        self.gray16 = encode(Image.new("I;16", (300, 200), 40000), "PNG")
        self.bilevel = encode(Image.new("1", (300, 200), 1), "PNG")
        self.bad_icc = encode(scaled(300, 200), "JPEG", icc_profile=b"not an ICC profile at all")
        self.corrupt = self.jpeg_small[:600] + bytes(range(256)) * 4  # real JPEG headers, then garbage
        self.bomb = png_bomb(30_000, 30_000)  # 900 M pixels: beyond twice the limit (Pillow's error)
        self.bomb_warn = png_bomb(8_000, 6_000)  # 48 M pixels: beyond the limit (Pillow's warning)


def _srgb_icc() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


@pytest.fixture(scope="session")
def samples() -> Samples:
    return Samples()


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer() as image_server:
        yield image_server


Make = Callable[..., ImageProcessor]


@pytest.fixture
def make(tmp_path: Path) -> Iterator[Make]:
    """Build processors on tmp_path/cache (options as keywords; `workers`, `cache_dir` apart); closed at the end."""
    made: list[ImageProcessor] = []

    def build(**options: Any) -> ImageProcessor:
        workers = options.pop("workers", 4)
        cache_dir = options.pop("cache_dir", tmp_path / "cache")
        processor = ImageProcessor(ImageOptions(**options), cache_dir, workers=workers, allow_private_networks=True)
        made.append(processor)
        return processor

    yield build
    for processor in made:
        processor.close()


def product(*urls: str, sku: str | None = "SKU-1", ean: str | None = None, id: int = 1) -> dict[str, Any]:
    images = [{"url": url, "alt": None, "position": n} for n, url in enumerate(urls, start=1)]
    return {"id": id, "sku": sku, "ean": ean, "images": images}


def one(processor: ImageProcessor, url: str, **fields: Any) -> ImageResult:
    results = processor.process_product(product(url, **fields))
    assert len(results) == 1
    return results[0]


def open_output(result: ImageResult) -> tuple[Image.Image, bytes]:
    assert result.ok, result.error
    assert result.path is not None
    data = result.path.read_bytes()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image, data


def assert_no_metadata(image: Image.Image, data: bytes) -> None:
    assert len(image.getexif()) == 0
    assert "exif" not in image.info
    assert "icc_profile" not in image.info
    assert "xmp" not in image.info
    for marker in (b"Exif\x00\x00", b"ICC_PROFILE", b"http://ns.adobe.com/xap", b"TestCam"):
        assert marker not in data


# -- options --------------------------------------------------------------------------------------------------


def test_options_defaults_and_round_trip() -> None:
    options = ImageOptions.from_dict(None)
    assert options == ImageOptions()
    assert (options.mode, options.format, options.quality, options.max_width, options.max_height) == (
        "url",
        "jpeg",
        85,
        1200,
        1200,
    )
    assert options.rename == "{sku}-{position}.{ext}"
    assert options.max_bytes == 20 * 1024 * 1024 and options.max_pixels == 40_000_000
    custom = ImageOptions.from_dict({"mode": "zip", "format": "webp", "quality": 70, "max_height": None, "timeout": 3})
    assert ImageOptions.from_dict(custom.to_dict()) == custom
    assert custom.timeout == 3.0 and isinstance(custom.timeout, float)
    assert custom.fingerprint != options.fingerprint
    assert ImageOptions(mode="zip", rename="{ean}.{ext}").fingerprint == options.fingerprint  # output unchanged


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quality": 0}, "options.images.quality"),
        ({"quality": 101}, "options.images.quality"),
        ({"quality": True}, "options.images.quality"),
        ({"quality": "85"}, "options.images.quality"),
        ({"format": "gif"}, "options.images.format"),
        ({"mode": "inline"}, "options.images.mode"),
        ({"max_width": 0}, "options.images.max_width"),
        ({"max_height": 1.5}, "options.images.max_height"),
        ({"max_bytes": 0}, "options.images.max_bytes"),
        ({"max_pixels": -1}, "options.images.max_pixels"),
        ({"max_images": 0}, "options.images.max_images"),
        ({"timeout": 0}, "options.images.timeout"),
        ({"timeout": "10"}, "options.images.timeout"),
        ({"retries": 9}, "options.images.retries"),
        ({"rename": ""}, "options.images.rename"),
        ({"rename": "{name}.{ext}"}, "options.images.rename"),
        ({"rename": "{sku-{position}.{ext}"}, "options.images.rename"),
        ({"rename": 12}, "options.images.rename"),
        ({"colour": "srgb"}, "options.images.colour"),
    ],
)
def test_options_are_checked_and_errors_name_the_key(data: dict[str, Any], field: str) -> None:
    with pytest.raises(TemplateError) as caught:
        ImageOptions.from_dict(data)
    assert caught.value.field == field
    assert str(caught.value).startswith(field + ": ")


def test_options_must_be_an_object() -> None:
    with pytest.raises(TemplateError) as caught:
        ImageOptions.from_dict("jpeg")  # type: ignore[arg-type]
    assert caught.value.field == "options.images"


# -- processing -----------------------------------------------------------------------------------------------


def test_jpeg_is_shrunk_into_the_box_and_stripped_of_metadata(
    server: ImageServer, make: Make, samples: Samples, tmp_path: Path
) -> None:
    url = server.add("/big.jpg", samples.jpeg)
    result = one(make(), url)
    image, data = open_output(result)
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (1200, 800) == (result.width, result.height)
    assert image.info.get("progressive") or image.info.get("progression")
    assert_no_metadata(image, data)
    assert result.content_type == "image/jpeg"
    assert result.file_name == "SKU-1-1.jpg"
    assert result.size == len(data) and result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.path is not None and (tmp_path / "cache") in result.path.parents
    assert result.base64 is None and result.data_uri is None and result.error is None


def test_small_images_are_never_upscaled_and_a_box_side_may_be_open(
    server: ImageServer, make: Make, samples: Samples
) -> None:
    small = server.add("/small.jpg", samples.jpeg_small)
    big = server.add("/big.jpg", samples.jpeg)
    assert open_output(one(make(), small))[0].size == (300, 200)
    assert open_output(one(make(max_width=500, max_height=None), big))[0].size == (500, 333)
    assert open_output(one(make(max_width=None, max_height=None), big))[0].size == (2400, 1600)
    assert open_output(one(make(max_width=4000, max_height=4000), small))[0].size == (300, 200)


def test_exif_orientation_is_applied_then_dropped(server: ImageServer, make: Make, samples: Samples) -> None:
    url = server.add("/rotated.jpg", samples.rotated)
    image, data = open_output(one(make(), url))
    assert image.size == (100, 200)
    red, _green, blue = image.getpixel((50, 30))  # type: ignore[misc]
    assert red > 200 and blue < 60, "the left of the stored image must end up on top"
    red, _green, blue = image.getpixel((50, 170))  # type: ignore[misc]
    assert blue > 200 and red < 60
    assert_no_metadata(image, data)


def test_transparency_becomes_white_in_jpeg_and_stays_in_png_and_webp(
    server: ImageServer, make: Make, samples: Samples
) -> None:
    url = server.add("/alpha.png", samples.png_alpha, "image/png")
    jpeg, _ = open_output(one(make(), url))
    assert jpeg.mode == "RGB"
    assert jpeg.getpixel((20, 100)) == (255, 255, 255)  # transparent red -> white, not red or black
    green = jpeg.getpixel((380, 100))
    assert isinstance(green, tuple) and green[1] > 180 and green[0] < 40
    png, _ = open_output(one(make(format="png"), url))
    assert png.format == "PNG" and png.mode == "RGBA"
    assert png.getpixel((20, 100))[3] == 0 and png.getpixel((380, 100))[3] == 255  # type: ignore[index]
    webp, _ = open_output(one(make(format="webp"), url))
    assert webp.format == "WEBP" and webp.mode == "RGBA"
    assert webp.getpixel((20, 100))[3] == 0  # type: ignore[index]


def test_palette_png_with_transparency_is_handled(server: ImageServer, make: Make, samples: Samples) -> None:
    url = server.add("/palette.png", samples.png_palette, "image/png")
    png, _ = open_output(one(make(format="png"), url))
    assert png.mode == "RGBA" and png.getpixel((10, 40))[3] == 0  # type: ignore[index]
    jpeg, _ = open_output(one(make(format="jpeg"), url))
    assert jpeg.getpixel((10, 40)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("sample", "content_type", "fmt", "expected"),
    [
        ("webp", "image/webp", "jpeg", "JPEG"),
        ("png", "image/png", "webp", "WEBP"),
        ("jpeg_small", "image/jpeg", "png", "PNG"),
        ("jpeg", "image/jpeg", "original", "JPEG"),
        ("png", "image/png", "original", "PNG"),
        ("webp", "image/webp", "original", "WEBP"),
        ("gif", "image/gif", "original", "GIF"),
        ("bmp", "image/bmp", "original", "PNG"),  # not a web format: lossless PNG
        ("cmyk", "image/jpeg", "jpeg", "JPEG"),
        ("gray16", "image/png", "jpeg", "JPEG"),
        ("bilevel", "image/png", "webp", "WEBP"),
        ("bad_icc", "application/octet-stream", "jpeg", "JPEG"),  # generic type: Pillow identifies it
    ],
)
def test_output_formats(
    server: ImageServer, make: Make, samples: Samples, sample: str, content_type: str, fmt: str, expected: str
) -> None:
    url = server.add(f"/{sample}", getattr(samples, sample), content_type)
    result = one(make(format=fmt), url)
    image, data = open_output(result)
    assert image.format == expected
    assert max(image.size) <= 1200
    extension = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}[expected]
    assert result.file_name is not None and result.file_name.endswith(extension)
    assert_no_metadata(image, data)
    if sample == "cmyk":
        assert image.mode == "RGB" and image.getpixel((5, 5))[0] > 200  # type: ignore[index]
    if sample == "gray16":
        assert image.mode == "L" and 140 < image.getpixel((5, 5)) < 170  # type: ignore[operator]


def test_lower_quality_gives_a_smaller_jpeg(server: ImageServer, make: Make, samples: Samples) -> None:
    url = server.add("/big.jpg", samples.jpeg)
    low, high = one(make(quality=50), url), one(make(quality=95), url)
    assert low.size is not None and high.size is not None
    assert low.size < high.size * 0.75


def test_corrupt_and_unrecognised_files_are_reported(server: ImageServer, make: Make, samples: Samples) -> None:
    corrupt = server.add("/corrupt.jpg", samples.corrupt)
    garbage = server.add("/garbage.jpg", bytes(range(256)) * 8)
    results = make().process_product(product(corrupt, garbage))
    assert [r.ok for r in results] == [False, False]
    assert results[0].error is not None and results[0].error.startswith("corrupt image: ")
    assert results[1].error == "corrupt image: not a recognised image format"
    assert results[0].path is None and results[0].file_name is None


def test_decompression_bombs_are_refused_before_decoding(server: ImageServer, make: Make, samples: Samples) -> None:
    assert len(samples.bomb) < 200_000  # a small file...
    limit_before = Image.MAX_IMAGE_PIXELS
    huge = server.add("/bomb.png", samples.bomb, "image/png")
    over = server.add("/over.png", samples.bomb_warn, "image/png")
    processor = make()
    started = time.monotonic()
    results = processor.process_product(product(huge, over))
    assert time.monotonic() - started < 2  # ...never decoded (900 M pixels would take far longer)
    assert [r.error for r in results] == [
        "image too large: 900000000 pixels (limit 40000000)",  # Pillow's DecompressionBombError
        "image too large: 48000000 pixels (limit 40000000)",  # Pillow's DecompressionBombWarning
    ]
    assert processor.stats.decodes == 0 and processor.stats.failed == 2
    assert limit_before == Image.MAX_IMAGE_PIXELS  # the global is restored
    mid = server.add("/mid.jpg", samples.jpeg_mid)  # 1.2 M pixels
    assert one(make(max_pixels=1_000_000), mid).error == "image too large: 1200000 pixels (limit 1000000)"


# -- fetching -------------------------------------------------------------------------------------------------


def test_http_errors_and_wrong_content_types(server: ImageServer, make: Make) -> None:
    server.add("/page.html", b"<html>soft 404</html>", "text/html; charset=utf-8")
    server.add("/logo.svg", b"<svg/>", "image/svg+xml")
    server.add("/gone.jpg", b"gone", status=410)
    urls = [server.url(p) for p in ("/missing.jpg", "/page.html", "/logo.svg", "/gone.jpg")]
    results = make().process_product(product(*urls))
    assert [r.error for r in results] == [
        "HTTP 404",
        "not an image (text/html)",
        "unsupported image type (image/svg+xml)",
        "HTTP 410",
    ]
    assert [r.position for r in results] == [1, 2, 3, 4]


def test_a_slow_response_times_out(server: ImageServer, make: Make, samples: Samples) -> None:
    url = server.add("/slow.jpg", samples.jpeg_small, delay=5)
    started = time.monotonic()
    result = one(make(timeout=1), url)
    assert result.error == "timed out after 1 s"
    assert time.monotonic() - started < 2.5


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "connection-close"])
def test_a_trickled_body_cannot_stretch_the_timeout(
    server: ImageServer, make: Make, samples: Samples, close: bool
) -> None:
    url = server.add("/trickle.jpg", samples.jpeg_small[:4000], trickle=0.2, close=close)  # 40 pieces: 8 s
    started = time.monotonic()
    assert one(make(timeout=1), url).error == "timed out after 1 s"
    assert time.monotonic() - started < 2.5


def test_size_limit_from_content_length_and_while_streaming(
    server: ImageServer, make: Make, samples: Samples, tmp_path: Path
) -> None:
    assert len(samples.jpeg) > 64 * 1024
    declared = server.add("/declared.jpg", samples.jpeg)
    chunked = server.add("/chunked.jpg", samples.jpeg, chunked=True)
    processor = make(max_bytes=64 * 1024)
    results = processor.process_product(product(declared, chunked))
    assert [r.error for r in results] == ["file larger than 64 kB", "file larger than 64 kB"]
    assert processor.stats.bytes_downloaded == 0
    assert list((tmp_path / "cache" / "tmp").glob("*/*")) == []  # the partial download is gone
    assert one(make(), chunked).ok  # chunked bodies are fine under the limit


def test_redirects_are_followed_at_most_five_times(server: ImageServer, make: Make, samples: Samples) -> None:
    server.add("/final.jpg", samples.jpeg_small)
    server.redirect("/r1", server.url("/r2"), 301)
    server.redirect("/r2", "/r3", 302)  # relative Location
    server.redirect("/r3", server.url("/r4"), 303)
    server.redirect("/r4", server.url("/r5"), 307)
    server.redirect("/r5", server.url("/final.jpg"), 308)  # 5 redirects: fine
    server.redirect("/r0", server.url("/r1"))  # 6 redirects: too many
    server.redirect("/to-ftp", "ftp://127.0.0.1/x.jpg")
    server.redirect("/to-creds", server.url("/final.jpg").replace("http://", "http://user:pw@"))
    results = make().process_product(product(*(server.url(p) for p in ("/r1", "/r0", "/to-ftp", "/to-creds"))))
    assert results[0].ok and results[0].width == 300
    assert results[1].error == "too many redirects (more than 5)"
    assert results[2].error == "unsupported URL scheme (ftp): only http and https are fetched"
    assert results[3].error == "URLs with credentials are refused"


def test_unsafe_urls_are_refused_without_a_request(server: ImageServer, make: Make, samples: Samples) -> None:
    server.add("/a.jpg", samples.jpeg_small)
    with_credentials = server.url("/a.jpg").replace("http://", "http://user:secret@")
    urls = ["file:///etc/passwd", "ftp://example.com/a.jpg", "data:image/png;base64,AAAA", "//cdn/a.jpg", ""]
    results = make().process_product(product(*urls, with_credentials))
    assert [r.error for r in results] == [
        "unsupported URL scheme (file): only http and https are fetched",
        "unsupported URL scheme (ftp): only http and https are fetched",
        "unsupported URL scheme (data): only http and https are fetched",
        "unsupported URL scheme (none): only http and https are fetched",
        "no URL",
        "URLs with credentials are refused",
    ]
    assert server.log == []


def test_connection_refused(make: Make) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = one(make(retries=0), f"http://127.0.0.1:{port}/a.jpg").error
    assert error is not None and error.startswith("connection failed: ")


def test_a_transient_error_is_retried(server: ImageServer, make: Make, samples: Samples) -> None:
    url = server.add("/busy.jpg", samples.jpeg_small, fail_first=1)
    assert one(make(), url).ok
    assert server.count("/busy.jpg") == 2
    other = server.add("/busy2.jpg", samples.jpeg_small, fail_first=1)
    assert one(make(retries=0), other).error == "HTTP 503"


def test_connections_are_kept_alive(server: ImageServer, make: Make, samples: Samples) -> None:
    urls = [server.add(f"/k{n}.jpg", samples.jpeg_small + bytes([n])) for n in range(4)]
    processor = make()
    assert all(r.ok for r in processor.process_product(product(*urls)))
    assert len({entry.client_port for entry in server.log}) == 1
    assert processor.stats.requests == 4


def test_non_ascii_urls_are_encoded(server: ImageServer, make: Make, samples: Samples) -> None:
    server.add("/caf%C3%A9%20cr%C3%A8me.jpg", samples.jpeg_small)
    assert one(make(), server.url("/café crème.jpg")).ok


# -- modes and names ------------------------------------------------------------------------------------------


def test_base64_mode_round_trips(server: ImageServer, make: Make, samples: Samples) -> None:
    url = server.add("/a.png", samples.png_alpha, "image/png")
    result = one(make(mode="base64", format="png"), url)
    assert result.base64 is not None and result.path is not None
    assert base64.b64decode(result.base64) == result.path.read_bytes()
    assert result.data_uri == "data:image/png;base64," + result.base64
    assert Image.open(io.BytesIO(base64.b64decode(result.base64))).size == (400, 200)


def test_zip_mode_writes_a_valid_zip_with_unique_renamed_entries(
    server: ImageServer, make: Make, samples: Samples, tmp_path: Path
) -> None:
    one_url = server.add("/1.jpg", samples.jpeg_small)
    two_url = server.add("/2.jpg", samples.jpeg)
    processor = make(mode="zip")
    products = [
        product(one_url, two_url, sku="AB-12", id=1),
        product(two_url, server.url("/missing.jpg"), sku="ab-12", id=2),  # same name but for case
        product(one_url, sku=None, ean="3760000000017", id=3),
    ]
    target = tmp_path / "export" / "images.zip"
    target.parent.mkdir()
    names: list[str | None] = []
    with ImageZip(target) as archive:
        for _product, results in processor.process_many(products):
            names += [archive.add(result) for result in results]
    assert names == ["AB-12-1.jpg", "AB-12-2.jpg", "ab-12-1-2.jpg", None, "3760000000017-1.jpg"]
    assert archive.close() == (target, 4)
    assert sorted(p.name for p in target.parent.iterdir()) == ["images.zip"]  # no partial file left
    with zipfile.ZipFile(target) as written:
        assert written.testzip() is None
        assert written.namelist() == [n for n in names if n]
        first = Image.open(io.BytesIO(written.read("AB-12-2.jpg")))
        assert first.format == "JPEG" and first.size == (1200, 800)
        assert written.read("AB-12-1.jpg") == written.read("3760000000017-1.jpg")  # same source bytes


def test_zip_is_removed_when_the_export_fails(tmp_path: Path) -> None:
    target = tmp_path / "images.zip"
    with pytest.raises(RuntimeError), ImageZip(target):
        raise RuntimeError("export failed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("pattern", "fields", "expected"),
    [
        ("{sku}-{position}.{ext}", {"sku": "../../x"}, "x-3.jpg"),
        ("{sku}-{position}.{ext}", {"sku": "..\\..\\windows\\x"}, "windows-x-3.jpg"),
        ("{sku}-{position}.{ext}", {"sku": "/etc/passwd"}, "etc-passwd-3.jpg"),
        ("{sku}-{position}.{ext}", {"sku": "Café Crème 50cl"}, "Cafe-Creme-50cl-3.jpg"),
        ("{sku}-{position}.{ext}", {"sku": None, "ean": "0012345678905"}, "0012345678905-3.jpg"),
        ("{sku}-{position}.{ext}", {"sku": "...", "ean": None}, "3.jpg"),
        ("{ean}_{id}.{ext}", {"sku": "S1", "ean": "4006381333931"}, "4006381333931_42.jpg"),
        ("{ean}.{ext}", {"sku": "S1", "ean": None}, "S1.jpg"),
        ("{sku}", {"sku": "S1"}, "S1.jpg"),  # the extension is always the real one
        ("{sku}.png", {"sku": "S1"}, "S1.png.jpg"),
        ("../{sku}/{position}.{ext}", {"sku": "S1"}, "S1-3.jpg"),
        ("{hash}.{ext}", {"sku": "S1"}, "0123456789abcdef.jpg"),
        ("{sku}", {"sku": ""}, "42.jpg"),
    ],
)
def test_rename_pattern_gives_a_single_safe_file_name(pattern: str, fields: dict[str, Any], expected: str) -> None:
    record = {"id": 42, "sku": None, "ean": None, **fields}
    name = render_file_name(pattern, record, position=3, ext="jpg", sha256="0123456789abcdef" * 4)
    assert name == expected
    assert "/" not in name and "\\" not in name and not name.startswith(".")


def test_a_hostile_sku_cannot_leave_the_zip_folder(
    server: ImageServer, make: Make, samples: Samples, tmp_path: Path
) -> None:
    url = server.add("/a.jpg", samples.jpeg_small)
    result = one(make(mode="zip"), url, sku="../../../etc/cron.d/x")
    assert result.file_name is not None
    assert (tmp_path / result.file_name).resolve().parent == tmp_path.resolve()


# -- cache ----------------------------------------------------------------------------------------------------


def test_same_content_is_decoded_once(server: ImageServer, make: Make, samples: Samples) -> None:
    first = server.add("/a.jpg", samples.jpeg)
    second = server.add("/copy-of-a.jpg", samples.jpeg)
    processor = make()
    [a] = processor.process_product(product(first, id=1))
    [b] = processor.process_product(product(second, id=2, sku="SKU-2"))
    stats = processor.stats
    assert (stats.downloads, stats.decodes, stats.cache_hits) == (2, 1, 1)
    assert a.path == b.path and a.sha256 == b.sha256
    assert not a.cached and b.cached
    assert (a.file_name, b.file_name) == ("SKU-1-1.jpg", "SKU-2-1.jpg")


def test_same_url_is_fetched_once_per_run(server: ImageServer, make: Make, samples: Samples) -> None:
    url = server.add("/shared.jpg", samples.jpeg_small)
    missing = server.url("/missing.jpg")
    processor = make()
    for n in range(3):
        results = processor.process_product(product(url, missing, id=n))
        assert results[0].ok and results[1].error == "HTTP 404"
    assert server.count("/shared.jpg") == 1 and server.count("/missing.jpg") == 1
    stats = processor.stats
    assert (stats.downloads, stats.decodes, stats.url_hits, stats.images, stats.failed) == (1, 1, 4, 6, 3)


def test_next_run_revalidates_and_reuses_the_processed_file(server: ImageServer, make: Make, samples: Samples) -> None:
    tagged = server.add("/tagged.jpg", samples.jpeg, etag='"v1"')
    plain = server.add("/plain.jpg", samples.jpeg_small)
    first = make()
    before = first.process_product(product(tagged, plain))
    assert first.stats.decodes == 2
    first.close()

    second = make()  # the next export: same cache folder
    after = second.process_product(product(tagged, plain))
    stats = second.stats
    assert (stats.not_modified, stats.downloads, stats.cache_hits, stats.decodes) == (1, 1, 1, 0)
    assert [r.sha256 for r in after] == [r.sha256 for r in before] and all(r.cached for r in after)
    revalidation = [e for e in server.log if e.path == "/tagged.jpg"][-1]
    assert revalidation.headers.get("If-None-Match") == '"v1"' and revalidation.status == 304

    third = make(quality=60)  # other options: another processed file, so a full download and a decode
    third.process_product(product(tagged))
    assert "If-None-Match" not in server.log[-1].headers
    assert (third.stats.downloads, third.stats.decodes) == (1, 1)


def test_cache_files_are_complete_and_temporary_files_removed(
    server: ImageServer, make: Make, samples: Samples, tmp_path: Path
) -> None:
    url = server.add("/a.jpg", samples.jpeg_small, etag='"e"')
    processor = make()
    [result] = processor.process_product(product(url))
    processor.close()
    cache = tmp_path / "cache"
    assert list(cache.rglob("*.tmp")) == [] and list((cache / "tmp").iterdir()) == []
    assert result.path is not None and result.path.with_suffix(".json").is_file()
    assert len(list((cache / "urls").rglob("*.json"))) == 1


# -- products and the thread pool -----------------------------------------------------------------------------


def test_failures_never_raise_and_every_product_is_returned(server: ImageServer, make: Make) -> None:
    processor = make()
    failing = product(server.url("/x.jpg"), "not a url", sku="F")
    assert [r.ok for r in processor.process_product(failing)] == [False, False]
    assert processor.process_product({"id": 5, "sku": "N"}) == []
    assert processor.process_product({"id": 6, "sku": "N", "images": None}) == []
    strings = processor.process_product({"id": 7, "sku": "S", "images": ["ftp://x/y.jpg"]})
    assert strings[0].position == 1 and strings[0].ok is False


def test_max_images_keeps_the_first_ones(server: ImageServer, make: Make, samples: Samples) -> None:
    urls = [server.add(f"/m{n}.jpg", samples.jpeg_small + bytes([n])) for n in range(4)]
    results = make(max_images=2).process_product(product(*urls))
    assert [r.position for r in results] == [1, 2]
    assert server.count("/m2.jpg") == 0


def test_process_many_fetches_concurrently_and_keeps_the_order(
    server: ImageServer, make: Make, samples: Samples
) -> None:
    urls = [server.add(f"/p{n}.jpg", samples.jpeg_small + bytes([n]), delay=0.2) for n in range(12)]
    products = [product(url, sku=f"P{n}", id=n) for n, url in enumerate(urls)]
    products.insert(3, {"id": 100, "sku": "EMPTY", "images": []})
    products.insert(7, product(server.url("/missing.jpg"), sku="BROKEN", id=101))
    processor = make(workers=4)
    started = time.monotonic()
    out = list(processor.process_many(iter(products)))
    elapsed = time.monotonic() - started
    assert [p["id"] for p, _results in out] == [p["id"] for p in products]
    assert [len(results) for _p, results in out] == [len(p["images"]) for p in products]
    assert all(r.ok for p, results in out if p["sku"].startswith("P") for r in results)
    assert out[3][1] == [] and out[7][1][0].error == "HTTP 404"
    assert server.max_concurrent >= 3
    assert elapsed < 12 * 0.2 * 0.6  # serial would take 2.4 s at least


def test_process_many_can_stop_early(server: ImageServer, make: Make, samples: Samples) -> None:
    urls = [server.add(f"/s{n}.jpg", samples.jpeg_small + bytes([n])) for n in range(20)]
    stream = make(workers=2).process_many(product(url, id=n) for n, url in enumerate(urls))
    first_product, results = next(stream)
    assert first_product["id"] == 0 and results[0].ok
    stream.close()  # the pool shuts down; nothing hangs
    assert server.count("/s19.jpg") == 0


# -- colour ---------------------------------------------------------------------------------------------------


def adobe_rgb_icc() -> bytes:
    """A minimal ICC v2 matrix/TRC profile with the Adobe RGB (1998) primaries (D50-adapted), gamma 2.2."""

    def s15(*values: float) -> bytes:
        return b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    text = b"Adobe RGB (test)\x00"
    desc = b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)
    curve = b"curv" + bytes(4) + struct.pack(">IH", 1, 0x0233) + bytes(2)
    tags = [
        (b"desc", desc),
        (b"wtpt", b"XYZ " + bytes(4) + s15(0.9642, 1.0, 0.8249)),
        (b"rXYZ", b"XYZ " + bytes(4) + s15(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", b"XYZ " + bytes(4) + s15(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", b"XYZ " + bytes(4) + s15(0.1492, 0.0632, 0.7446)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text" + bytes(4) + b"none\x00" + bytes(3)),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + bytes(-len(body) % 4)
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + bytes(4)
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + bytes(12)
        + b"acsp"
        + bytes(4 + 4 + 4 + 4 + 8 + 4)
        + s15(0.9642, 1.0, 0.8249)
        + bytes(4 + 16 + 28)
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def test_a_wide_gamut_profile_is_converted_to_srgb_then_dropped(server: ImageServer, make: Make) -> None:
    from PIL import ImageCms

    icc = adobe_rgb_icc()
    colour = (60, 150, 90)
    tagged = Image.new("RGB", (64, 64), colour)
    expected = ImageCms.profileToProfile(
        tagged, ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    )
    assert expected is not None
    wanted = expected.getpixel((0, 0))
    assert isinstance(wanted, tuple) and max(abs(a - b) for a, b in zip(wanted, colour, strict=True)) > 10
    url = server.add("/adobe.png", encode(tagged, "PNG", icc_profile=icc), "image/png")
    image, data = open_output(one(make(format="png"), url))
    assert image.getpixel((10, 10)) == wanted
    assert_no_metadata(image, data)


def test_internal_addresses_are_refused_by_default(server: ImageServer, samples: Samples, tmp_path: Path) -> None:
    url = server.add("/a.jpg", samples.jpeg_small if hasattr(samples, "jpeg_small") else encode(photo(20, 20), "JPEG"))
    with ImageProcessor(ImageOptions(), tmp_path / "cache") as processor:
        (result,) = processor.process_product(product(url))
    assert not result.ok
    assert result.error is not None and "internal address (127.0.0.1)" in result.error
    assert server.log == []  # refused before any request was sent
