"""Streaming file writers, one module per format, found by name in `engine.formats.registry`."""
