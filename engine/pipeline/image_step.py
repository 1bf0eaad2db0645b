"""The image step of an export: fetch and optimise a chunk's images (engine.pipeline.images), put the results
in the records (images[i].file, data_uri, base64, width, height), fill the ZIP beside the file, and turn every
image that failed into a warning line for the report. A failed image is left out of the product's images; the
product itself is still exported (a template rule such as `min_count` on images can exclude it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.formats.base import OutputFile
from engine.pipeline.images import ImageOptions, ImageProcessor, ImageZip


@dataclass(frozen=True)
class ProductWarning:
    product_id: int
    sku: str | None
    ean: str | None
    kind: str
    message: str


class ImageStep:
    def __init__(self, options: ImageOptions, cache_dir: Path, work: Path, *, allow_private_networks: bool) -> None:
        self.options = options
        self.processor = ImageProcessor(options, cache_dir, allow_private_networks=allow_private_networks)
        self.zip = ImageZip(work / "images.zip") if options.mode == "zip" else None
        self.zip_path = work / "images.zip"

    @classmethod
    def needed(cls, images: dict[str, Any] | None) -> ImageOptions | None:
        """The image options of a spec when its images must be fetched (zip and base64 modes)."""
        options = ImageOptions.from_dict(images or None)
        return options if options.mode != "url" else None

    def apply(self, chunk: list[dict[str, Any]], last_id: int) -> list[ProductWarning]:
        """Process the images of a chunk in place; warnings only for products not seen before a resume."""
        warnings: list[ProductWarning] = []
        for product, results in self.processor.process_many(chunk):
            by_position = {r.position: r for r in results}
            kept = []
            for image in product.get("images") or []:
                result = by_position.get(image.get("position"))
                if result is None:  # beyond max_images
                    continue
                if not result.ok:
                    if product["id"] > last_id:
                        message = f"image {result.position} ({result.url}): {result.error}"
                        warnings.append(
                            ProductWarning(product["id"], product.get("sku"), product.get("ean"), "image", message)
                        )
                    continue
                name = self.zip.add(result) if self.zip is not None else result.file_name
                image.update(
                    file=name, data_uri=result.data_uri, base64=result.base64, width=result.width, height=result.height
                )
                kept.append(image)
            product["images"] = kept
        return warnings

    def close(self) -> tuple[OutputFile | None, int]:
        """Finish the ZIP (when there is one): the file and how many images it holds."""
        self.processor.close()
        if self.zip is None:
            return None, 0
        path, count = self.zip.close()
        return OutputFile(Path(path), count, "application/zip"), count

    def abort(self) -> None:
        self.processor.close()
        if self.zip is not None:
            self.zip.abort()
