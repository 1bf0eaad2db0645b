"""The engine's copy of the catalogue: products, variants, categories, suppliers, images."""
