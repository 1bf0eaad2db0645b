"""Images inside an export: ZIP beside the file and base64 cells, failures as warnings in the report."""

from __future__ import annotations

import base64
import csv
import io
import zipfile
from collections.abc import Iterator

import pytest
from PIL import Image

from engine.catalog.store import upsert_product
from engine.errors import TemplateError
from engine.models import JobWarning
from engine.services.exports import resolve_request, run_inline
from engine.services.reports import report_csv
from engine.settings import Settings
from tests.image_server import ImageServer
from tests.test_images import encode, photo, png_bomb

COLUMNS = [
    {"header": "SKU", "source": "sku"},
    {"header": "Image", "source": "images[0].file"},
    {"header": "Images", "source": "images.file", "transforms": [{"name": "join", "separator": ","}]},
    {"header": "Width", "source": "images[0].width"},
]


@pytest.fixture
def server() -> Iterator[ImageServer]:
    with ImageServer() as image_server:
        yield image_server


@pytest.fixture
def catalog(sqlite_db: Settings, server: ImageServer) -> Settings:
    jpeg = server.add("/a.jpg", encode(photo(1600, 900), "JPEG", quality=90))
    png = server.add("/b.png", encode(photo(200, 100), "PNG"), content_type="image/png")
    missing = server.url("/missing.jpg")
    corrupt = server.add("/corrupt.jpg", b"\xff\xd8\xff\xe0" + b"garbage" * 100)
    bomb = server.add("/bomb.png", png_bomb(20_000, 20_000), content_type="image/png")
    upsert_product({"sku": "A-1", "title": "Two good images", "status": "active", "images": [jpeg, png]})
    upsert_product({"sku": "B-2", "title": "A bad and a good one", "status": "active",
                    "images": [missing, corrupt, bomb, jpeg]})  # fmt: skip
    return sqlite_db.with_(images_allow_private_networks=True)  # the test server is on loopback


def export(settings: Settings, images: dict):
    request = resolve_request("Standard CSV", {"columns": COLUMNS, "images": images, "options": {"encoding": "utf-8"}})
    return run_inline(request, settings)


def test_zip_mode_puts_optimised_images_beside_the_file_and_reports_failures(catalog: Settings) -> None:
    job, result = export(catalog, {"mode": "zip", "max_width": 400, "max_height": 400, "format": "jpeg"})
    csv_file, archive = result.files
    assert archive.format == "images-zip" and archive.path.name.endswith("-images.zip")
    rows = list(csv.DictReader(io.StringIO(csv_file.path.read_text("utf-8")), delimiter=";"))
    assert rows[0]["Images"] == "A-1-1.jpg,A-1-2.jpg" and rows[0]["Width"] == "400"
    assert rows[1]["Image"] == "B-2-4.jpg"  # the three broken images are left out
    with zipfile.ZipFile(archive.path) as zf:
        assert sorted(zf.namelist()) == ["A-1-1.jpg", "A-1-2.jpg", "B-2-4.jpg"]
        with Image.open(io.BytesIO(zf.read("A-1-1.jpg"))) as img:
            assert (img.format, img.size) == ("JPEG", (400, 225))
            assert not img.getexif()
        with Image.open(io.BytesIO(zf.read("A-1-2.jpg"))) as img:
            assert img.size == (200, 100)  # never upscaled
    warnings = [(w.sku, w.message.split(":", 1)[0]) for w in JobWarning.select().order_by(JobWarning.id)]
    assert [sku for sku, _ in warnings] == ["B-2", "B-2", "B-2"]
    messages = [w.message for w in JobWarning.select().order_by(JobWarning.id)]
    assert "HTTP 404" in messages[0] and "corrupt image" in messages[1] and "image too large" in messages[2]
    assert result.warnings == 3 and job.report["warnings"] == 3
    report = list(csv.reader(io.StringIO("".join(report_csv(job.id)))))
    assert report[0] == ["product_id", "sku", "ean", "outcome", "rule", "message"]
    assert [r[3] for r in report[1:]] == ["warning"] * 3


def test_base64_mode_embeds_the_images(catalog: Settings) -> None:
    columns = [{"header": "SKU", "source": "sku"}, {"header": "Image", "source": "images[0].data_uri"}]
    request = resolve_request("JSON catalogue", {"columns": columns, "images": {"mode": "base64", "format": "png",
                                                                                 "max_width": 64}})  # fmt: skip
    _job, result = run_inline(request, catalog)
    (document,) = result.files
    import json

    products = json.loads(document.path.read_bytes())["products"]
    header, data = products[0]["Image"].split(",", 1)
    assert header == "data:image/png;base64"
    with Image.open(io.BytesIO(base64.b64decode(data))) as img:
        assert img.format == "PNG" and img.size[0] == 64


def test_bad_image_options_are_refused() -> None:
    with pytest.raises(TemplateError, match=r"options\.images\.quality"):
        from engine.pipeline.spec import ExportSpec

        ExportSpec.from_dict({"format": "csv", "columns": COLUMNS, "images": {"quality": 500}})


def test_by_default_an_export_does_not_fetch_internal_addresses(sqlite_db: Settings, server: ImageServer) -> None:
    jpeg = server.add("/a.jpg", encode(photo(50, 50), "JPEG"))
    upsert_product({"sku": "A-1", "title": "Internal image", "status": "active", "images": [jpeg]})
    _job, result = export(sqlite_db, {"mode": "zip"})
    assert result.warnings == 1 and server.log == []
    (warning,) = JobWarning.select()
    assert "internal address (127.0.0.1)" in warning.message
