"""PM Exports: the export engine of a product-information system."""

__version__ = "0.1.0"
